//! Pointwise (1x1, stride 1, no padding, one group) convolutions as batched matmuls on the
//! NCHW layout.
//!
//! `[N, C, H, W]` is `[N, C, H·W]` with no copy, and a 1x1 conv is then `W · X_n` for every
//! image `n`: one batched matmul against the `[1, O, C]` weight. burn's autodiff differentiates
//! the matmul itself, which is the backward we want: the input gradient is `Wᵀ · dY_n` and the
//! weight gradient `Σ_n dY_n · X_nᵀ` (one batched matmul, then the sum over the broadcast batch
//! dimension), both on strided views that burn-flex's gemm reads without copying. burn 0.22's
//! own conv backward instead transposes activations and output gradients (a copy each) and
//! runs the weight gradient as a full-map convolution: ~3x PyTorch's time (docs/benchmarks.md).
//! Only generic tensor ops are used, so every backend gets the same path.

use burn::prelude::*;

/// `x` convolved with a 1x1 `weight` (plus `bias`), stride 1 and no padding.
///
/// # Shapes
/// - `x`: `[batch, in_channels, height, width]`
/// - `weight`: `[out_channels, in_channels, 1, 1]`
/// - `bias`: `[out_channels]`
/// - returns `[batch, out_channels, height, width]`
pub fn conv1x1(x: Tensor<4>, weight: Tensor<4>, bias: Option<Tensor<1>>) -> Tensor<4> {
    let [batch, channels, height, width] = x.dims();
    let [out_channels, in_channels, kh, kw] = weight.dims();
    assert_eq!(
        (in_channels, kh, kw),
        (channels, 1, 1),
        "conv1x1: weight {:?} does not fit input {:?}",
        weight.dims(),
        x.dims()
    );
    if height * width == 1 {
        // A 1x1 map (MobileNetV2's head at 28x28 input): one [N, C] x [C, O] matmul instead of
        // N matrix-vector products, which burn-flex's batched gemm runs one by one.
        let rows = x.reshape([batch, channels]);
        let y = rows.matmul(weight.reshape([out_channels, in_channels]).transpose());
        let y = match bias {
            Some(b) => y + b.reshape([1, out_channels]),
            None => y,
        };
        return y.reshape([batch, out_channels, 1, 1]);
    }
    let maps = x.reshape([batch, channels, height * width]);
    let y = weight.reshape([1, out_channels, in_channels]).matmul(maps);
    let y = match bias {
        Some(b) => y + b.reshape([1, out_channels, 1]),
        None => y,
    };
    y.reshape([batch, out_channels, height, width])
}
