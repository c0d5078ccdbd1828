//! Depthwise 3x3 convolutions (one filter per channel, padding 1, stride 1 or 2) as this
//! project's own burn-flex op, forward and backward.
//!
//! burn 0.22 runs a grouped conv's weight gradient as a full-map convolution per channel and
//! transposes activations on the way (about 2.4x PyTorch's time for MobileNetV2's depthwise
//! layers, docs/benchmarks.md). Here each `(image, channel)` plane is one small loop nest over
//! the NCHW layout: the forward and the input gradient are 9 shifted row `axpy`s per plane, the
//! weight gradient 9 dot products per plane. Work is split over planes (forward, input
//! gradient) or channels (weight gradient, summed over images in image order inside one task),
//! so no sum depends on how many threads run it: results are bit-identical at any thread count.
//!
//! The op is a burn backend extension ([`DepthwiseOps`]) for `Flex` and `Autodiff<Flex>`; the
//! autodiff implementation registers the handwritten backward. Other backends (wgpu, cuda) keep
//! burn's own conv: [`super::fast_conv`] routes here only for f32 tensors on a flex device.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::{FlexTensor, Layout};
use burn::backend::{Autodiff, Backend, Flex, backend_extension, tensor::FloatTensor};
use burn::prelude::*;
use burn::tensor::{Bytes, DType, Shape};
use rayon::prelude::*;

/// The depthwise op as a backend extension: `x` `[N, C, H, W]` convolved with `weight`
/// `[C, 1, 3, 3]`, padding 1, the given stride; no bias (see [`depthwise3x3`]).
#[backend_extension(Flex, Autodiff)]
pub trait DepthwiseOps: Backend {
    fn depthwise3x3(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        stride: usize,
    ) -> FloatTensor<Self>;
}

/// The kernels behind [`DepthwiseOps`] on a concrete (non-autodiff) backend: the autodiff
/// implementation's backward calls them.
pub trait DepthwiseKernels: Backend {
    fn depthwise3x3_forward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        stride: usize,
    ) -> FloatTensor<Self>;
    /// `(dL/dx, dL/dweight)` given `dL/dy`.
    fn depthwise3x3_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad_out: FloatTensor<Self>,
        stride: usize,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);
}

/// `x` convolved channel by channel with a `[C, 1, 3, 3]` `weight` (plus `bias`), padding 1.
///
/// # Shapes
/// - `x`: `[batch, channels, height, width]`
/// - `weight`: `[channels, 1, 3, 3]`
/// - `bias`: `[channels]`
/// - returns `[batch, channels, (height - 1) / stride + 1, (width - 1) / stride + 1]`
pub fn depthwise3x3(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    stride: usize,
) -> Tensor<4> {
    let [_, channels, _, _] = x.dims();
    assert_eq!(
        weight.dims(),
        [channels, 1, 3, 3],
        "depthwise3x3: weight {:?} does not fit input {:?}",
        weight.dims(),
        x.dims()
    );
    assert!(stride == 1 || stride == 2, "depthwise3x3: stride {stride}");
    let y = Tensor::<4>::from_dispatch(<burn::backend::Dispatch as DepthwiseOps>::depthwise3x3(
        x.into_dispatch(),
        weight.into_dispatch(),
        stride,
    ));
    match bias {
        Some(b) => y + b.reshape([1, channels, 1, 1]),
        None => y,
    }
}

impl DepthwiseOps for Flex {
    fn depthwise3x3(x: FlexTensor, weight: FlexTensor, stride: usize) -> FlexTensor {
        Flex::depthwise3x3_forward(x, weight, stride)
    }
}

impl<B: DepthwiseKernels, C: CheckpointStrategy> DepthwiseOps for Autodiff<B, C> {
    fn depthwise3x3(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        stride: usize,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct Depthwise3x3Backward;

        impl<B: DepthwiseKernels> Backward<B, 2> for Depthwise3x3Backward {
            type State = (FloatTensor<B>, FloatTensor<B>, usize);

            fn backward(
                self,
                ops: Ops<Self::State, 2>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let (x, weight, stride) = ops.state;
                let [node_x, node_w] = ops.parents;
                let grad_out = grads.consume::<B>(&ops.node);
                let (dx, dw) = B::depthwise3x3_backward(x, weight, grad_out, stride);
                if let Some(node) = node_x {
                    grads.register::<B>(node.id, dx);
                }
                if let Some(node) = node_w {
                    grads.register::<B>(node.id, dw);
                }
            }
        }

        let parents = [x.node(), weight.node()];
        let (x, weight) = (x.into_primitive(), weight.into_primitive());
        let y = B::depthwise3x3_forward(x.clone(), weight.clone(), stride);
        match Depthwise3x3Backward
            .prepare::<C>(parents)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish((x, weight, stride), y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }
}

impl DepthwiseKernels for Flex {
    fn depthwise3x3_forward(x: FlexTensor, weight: FlexTensor, stride: usize) -> FlexTensor {
        let g = Geometry::of(&x, stride);
        let (x, w) = (f32s(&x), f32s(&weight));
        let mut y = vec![0f32; g.n * g.c * g.ho * g.wo];
        y.par_chunks_mut(g.ho * g.wo)
            .enumerate()
            .for_each(|(plane, out)| {
                let ch = plane % g.c;
                let input = &x[plane * g.h * g.w..][..g.h * g.w];
                g.forward_plane(input, &w[ch * 9..][..9], out);
            });
        g.tensor(y, [g.n, g.c, g.ho, g.wo])
    }

    fn depthwise3x3_backward(
        x: FlexTensor,
        weight: FlexTensor,
        grad_out: FlexTensor,
        stride: usize,
    ) -> (FlexTensor, FlexTensor) {
        let g = Geometry::of(&x, stride);
        let (x, w, dy) = (f32s(&x), f32s(&weight), f32s(&grad_out));
        assert_eq!(dy.len(), g.n * g.c * g.ho * g.wo, "depthwise3x3: grad_out");
        let (in_plane, out_plane) = (g.h * g.w, g.ho * g.wo);

        let mut dx = vec![0f32; g.n * g.c * in_plane];
        dx.par_chunks_mut(in_plane)
            .enumerate()
            .for_each(|(plane, dx)| {
                let ch = plane % g.c;
                g.input_grad_plane(&dy[plane * out_plane..][..out_plane], &w[ch * 9..][..9], dx);
            });

        let mut dw = vec![0f32; g.c * 9];
        dw.par_chunks_mut(9).enumerate().for_each(|(ch, dw)| {
            for n in 0..g.n {
                let plane = n * g.c + ch;
                g.weight_grad_plane(
                    &x[plane * in_plane..][..in_plane],
                    &dy[plane * out_plane..][..out_plane],
                    dw,
                );
            }
        });
        (
            g.tensor(dx, [g.n, g.c, g.h, g.w]),
            g.tensor(dw, [g.c, 1, 3, 3]),
        )
    }
}

/// A tensor's f32 values in row-major order (copied only when the layout is strided).
fn f32s(t: &FlexTensor) -> std::borrow::Cow<'_, [f32]> {
    assert_eq!(t.dtype(), DType::F32, "depthwise3x3: f32 tensors only");
    match t.as_slice::<f32>() {
        Some(values) => std::borrow::Cow::Borrowed(values),
        None => std::borrow::Cow::Owned(t.to_contiguous().as_slice::<f32>().unwrap().to_vec()),
    }
}

/// Sizes of one depthwise 3x3 conv with padding 1.
struct Geometry {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    ho: usize,
    wo: usize,
    stride: usize,
}

impl Geometry {
    fn of(x: &FlexTensor, stride: usize) -> Self {
        let dims = x.layout().shape();
        assert_eq!(dims.num_dims(), 4, "depthwise3x3: a 4-d input");
        let (n, c, h, w) = (dims[0], dims[1], dims[2], dims[3]);
        Self {
            n,
            c,
            h,
            w,
            ho: (h - 1) / stride + 1,
            wo: (w - 1) / stride + 1,
            stride,
        }
    }

    fn tensor<const D: usize>(&self, values: Vec<f32>, shape: [usize; D]) -> FlexTensor {
        let shape = Shape::from(shape.to_vec());
        FlexTensor::new(
            Bytes::from_elems(values),
            Layout::contiguous(shape),
            DType::F32,
        )
    }

    /// The output columns `ox` whose input column `ox·stride + kx - 1` lies inside the image.
    fn columns(&self, kx: usize) -> std::ops::Range<usize> {
        let first = usize::from(kx == 0); // ox = 0 reads column -1 when kx = 0
        // the last ox with ox·stride + kx - 1 <= w - 1
        let end = ((self.w + 1 - kx) / self.stride + 1).min(self.wo);
        let end = if (end - 1) * self.stride + kx > self.w {
            end - 1
        } else {
            end
        };
        first..end.max(first)
    }

    /// The input row feeding output row `oy` through kernel row `ky`, if inside the image.
    fn input_row(&self, oy: usize, ky: usize) -> Option<usize> {
        (oy * self.stride + ky)
            .checked_sub(1)
            .filter(|&iy| iy < self.h)
    }

    fn forward_plane(&self, x: &[f32], w: &[f32], y: &mut [f32]) {
        let s = self.stride;
        for oy in 0..self.ho {
            let out = &mut y[oy * self.wo..][..self.wo];
            for ky in 0..3 {
                let Some(iy) = self.input_row(oy, ky) else {
                    continue;
                };
                let row = &x[iy * self.w..][..self.w];
                for kx in 0..3 {
                    let k = w[ky * 3 + kx];
                    let cols = self.columns(kx);
                    if s == 1 {
                        let shifted = &row[cols.start + kx - 1..cols.end + kx - 1];
                        for (o, v) in out[cols].iter_mut().zip(shifted) {
                            *o += k * v;
                        }
                    } else {
                        for ox in cols {
                            out[ox] += k * row[ox * s + kx - 1];
                        }
                    }
                }
            }
        }
    }

    fn input_grad_plane(&self, dy: &[f32], w: &[f32], dx: &mut [f32]) {
        let s = self.stride;
        for oy in 0..self.ho {
            let grad = &dy[oy * self.wo..][..self.wo];
            for ky in 0..3 {
                let Some(iy) = self.input_row(oy, ky) else {
                    continue;
                };
                let row = &mut dx[iy * self.w..][..self.w];
                for kx in 0..3 {
                    let k = w[ky * 3 + kx];
                    let cols = self.columns(kx);
                    if s == 1 {
                        let shifted = &mut row[cols.start + kx - 1..cols.end + kx - 1];
                        for (d, g) in shifted.iter_mut().zip(&grad[cols]) {
                            *d += k * g;
                        }
                    } else {
                        for ox in cols {
                            row[ox * s + kx - 1] += k * grad[ox];
                        }
                    }
                }
            }
        }
    }

    /// Adds this plane's `Σ dy · x` for each of the 9 taps to `dw`.
    fn weight_grad_plane(&self, x: &[f32], dy: &[f32], dw: &mut [f32]) {
        let s = self.stride;
        for (tap, dw) in dw.iter_mut().enumerate() {
            let (ky, kx) = (tap / 3, tap % 3);
            let cols = self.columns(kx);
            let mut sum = 0f32;
            for oy in 0..self.ho {
                let Some(iy) = self.input_row(oy, ky) else {
                    continue;
                };
                let row = &x[iy * self.w..][..self.w];
                let grad = &dy[oy * self.wo..][..self.wo];
                if s == 1 {
                    let shifted = &row[cols.start + kx - 1..cols.end + kx - 1];
                    sum += dot(&grad[cols.clone()], shifted);
                } else {
                    for ox in cols.clone() {
                        sum += grad[ox] * row[ox * s + kx - 1];
                    }
                }
            }
            *dw += sum;
        }
    }
}

/// A dot product in 8 fixed lanes, so the compiler vectorizes it and the order of the sums
/// is the same on every run.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    lanes.iter().sum::<f32>() + tail
}
