//! Reading and making burn-flex f32 tensors for this project's own ops
//! ([`super::depthwise`], [`super::batch_norm_op`]).

use std::borrow::Cow;

use burn::backend::flex::{FlexTensor, Layout};
use burn::tensor::{Bytes, DType, Shape};

/// A tensor's f32 values in row-major order (copied only when the layout is strided).
pub fn f32s<'a>(t: &'a FlexTensor, op: &str) -> Cow<'a, [f32]> {
    assert_eq!(t.dtype(), DType::F32, "{op}: f32 tensors only");
    match t.as_slice::<f32>() {
        Some(values) => Cow::Borrowed(values),
        None => Cow::Owned(t.to_contiguous().as_slice::<f32>().unwrap().to_vec()),
    }
}

/// A contiguous f32 tensor of `shape` holding `values`.
pub fn tensor(values: Vec<f32>, shape: impl Into<Shape>) -> FlexTensor {
    let shape = shape.into();
    assert_eq!(values.len(), shape.num_elements(), "tensor: {shape:?}");
    FlexTensor::new(
        Bytes::from_elems(values),
        Layout::contiguous(shape),
        DType::F32,
    )
}

/// `Σ f(a[i], b[i])` in 8 fixed lanes: vectorized, and summed in the same order on every run.
pub fn lane_sum(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f32 {
    let mut lanes = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(&x, &y)| f(x, y))
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            lanes[i] += f(x[i], y[i]);
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// A buffer of `len` f32s for a kernel that writes every element before anything reads it.
///
/// `vec![0.0; len]` zeroes it first: a pass over memory that cost ~9% of a MobileNetV2
/// training step in `memset` once freed memory is reused (see `util::alloc`). burn-flex's
/// own kernels allocate their outputs the same way (its `mask.rs`).
#[allow(clippy::uninit_vec)]
pub fn unwritten(len: usize) -> Vec<f32> {
    let mut values = Vec::with_capacity(len);
    // SAFETY: every bit pattern is a valid f32, and each caller writes all `len` elements
    // before the buffer is read or handed out.
    unsafe { values.set_len(len) };
    values
}
