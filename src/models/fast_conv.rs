//! The one place conv models run a [`Conv2d`]: convolutions this project computes faster than
//! burn 0.22's generic ones go to their own op ([`conv2d_gemm`], [`depthwise3x3`],
//! [`conv1x1`]), every other one to burn's conv. Models call [`conv2d`] instead of `Conv2d::forward`; parameters,
//! initialization and checkpoints stay those of burn's module.

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::prelude::*;

#[cfg(feature = "flex")]
use super::depthwise::depthwise3x3;
#[cfg(feature = "flex")]
use super::gemm_conv::conv2d_gemm;
use super::pointwise::conv1x1;

/// Which op computes a conv.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// One group, no dilation, on burn-flex with f32: im2col and gemm per chunk of images
    /// ([`conv2d_gemm`]).
    Gemm,
    /// 3x3 depthwise, padding 1, stride 1 or 2, on burn-flex with f32 ([`depthwise3x3`]).
    Depthwise,
    /// 1x1, stride 1, no padding, one group, on other backends: a batched matmul
    /// ([`conv1x1`]).
    Pointwise,
    /// burn's own conv.
    Burn,
}

/// The op [`conv2d`] uses for `conv` on an input like `x`.
pub fn route(conv: &Conv2d, x: &Tensor<4>) -> Route {
    let flex = on_flex_f32(x);
    if flex && conv.groups == 1 && conv.dilation == [1, 1] {
        Route::Gemm
    } else if flex && is_depthwise3x3(conv) {
        Route::Depthwise
    } else if is_pointwise(conv) {
        Route::Pointwise
    } else {
        Route::Burn
    }
}

/// `conv.forward(x)`, computed by the fastest op that fits the conv's settings.
///
/// # Shapes
/// - `x`: `[batch, in_channels, height, width]` -> `[batch, out_channels, height', width']`
pub fn conv2d(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let bias = || conv.bias.as_ref().map(|b| b.val());
    match route(conv, &x) {
        #[cfg(feature = "flex")]
        Route::Gemm => {
            let [_, _, height, width] = x.dims();
            let stride = conv.stride;
            let padding = padding(&conv.padding, [height, width], conv.kernel_size, stride);
            conv2d_gemm(x, conv.weight.val(), bias(), stride, padding)
        }
        Route::Pointwise => conv1x1(x, conv.weight.val(), bias()),
        #[cfg(feature = "flex")]
        Route::Depthwise => depthwise3x3(x, conv.weight.val(), bias(), conv.stride[0]),
        _ => conv.forward(x),
    }
}

/// `[top, bottom, left, right]` of `padding` for an input of `size`, as burn's `Conv2d`
/// computes it (its own function is crate-private): `Same` pads `(k - 1) / 2` before and the
/// rest after at stride 1, and at stride `s` whatever makes `ceil(size / s)` outputs.
fn padding(
    padding: &PaddingConfig2d,
    size: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
) -> [usize; 4] {
    let same = |size: usize, kernel: usize, stride: usize| {
        let outputs = size.div_ceil(stride);
        let total = match outputs {
            0 => 0,
            _ => ((outputs - 1) * stride + kernel).saturating_sub(size),
        };
        (total / 2, total - total / 2)
    };
    match *padding {
        PaddingConfig2d::Valid => [0; 4],
        PaddingConfig2d::Explicit(top, left, bottom, right) => [top, bottom, left, right],
        PaddingConfig2d::Same => {
            let (top, bottom) = same(size[0], kernel[0], stride[0]);
            let (left, right) = same(size[1], kernel[1], stride[1]);
            [top, bottom, left, right]
        }
    }
}

fn no_padding(padding: &PaddingConfig2d) -> bool {
    matches!(
        padding,
        PaddingConfig2d::Valid | PaddingConfig2d::Explicit(0, 0, 0, 0)
    )
}

/// 1x1 kernel, stride 1, no padding, one group: a matmul per image. (`Same` padding of a
/// 1x1 stride-1 kernel is none.)
fn is_pointwise(conv: &Conv2d) -> bool {
    conv.kernel_size == [1, 1]
        && conv.stride == [1, 1]
        && conv.groups == 1
        && (no_padding(&conv.padding) || matches!(conv.padding, PaddingConfig2d::Same))
}

/// 3x3 kernel, one group per channel (as many outputs as inputs), padding 1 on every side,
/// the same stride 1 or 2 on both axes, no dilation. (`Same` padding of a 3x3 stride-1
/// kernel is 1.)
fn is_depthwise3x3(conv: &Conv2d) -> bool {
    let [_, in_per_group, _, _] = conv.weight.dims();
    let one_filter_per_channel =
        in_per_group == 1 && conv.groups > 1 && conv.weight.dims()[0] == conv.groups;
    let stride_ok = conv.stride[0] == conv.stride[1] && matches!(conv.stride[0], 1 | 2);
    let padding_ok = matches!(conv.padding, PaddingConfig2d::Explicit(1, 1, 1, 1))
        || (matches!(conv.padding, PaddingConfig2d::Same) && conv.stride == [1, 1]);
    conv.kernel_size == [3, 3]
        && conv.dilation == [1, 1]
        && one_filter_per_channel
        && stride_ok
        && padding_ok
}

/// Whether `x` is an f32 tensor on burn-flex (with or without autodiff): the project's own
/// ops exist there only; wgpu, cuda and other dtypes keep burn's.
pub fn on_flex_f32<const D: usize>(x: &Tensor<D>) -> bool {
    #[cfg(feature = "flex")]
    {
        matches!(
            x.device().inner().as_dispatch(),
            burn::backend::DispatchDevice::Flex(_)
        ) && x.dtype() == burn::tensor::DType::F32
    }
    #[cfg(not(feature = "flex"))]
    {
        let _ = x;
        false
    }
}
