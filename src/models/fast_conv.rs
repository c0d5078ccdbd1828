//! The one place conv models run a [`Conv2d`]: convolutions this project computes faster than
//! burn 0.22's generic ones go to their own op ([`conv1x1`], [`depthwise3x3`]), every other one
//! to burn's conv. Models call [`conv2d`] instead of `Conv2d::forward`; parameters,
//! initialization and checkpoints stay those of burn's module.

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::prelude::*;

#[cfg(feature = "flex")]
use super::depthwise::depthwise3x3;
use super::pointwise::conv1x1;

/// Which op computes a conv.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// 1x1, stride 1, no padding, one group: a batched matmul ([`conv1x1`]), any backend.
    Pointwise,
    /// 3x3 depthwise, padding 1, stride 1 or 2, on burn-flex with f32 ([`depthwise3x3`]).
    Depthwise,
    /// burn's own conv.
    Burn,
}

/// The op [`conv2d`] uses for `conv` on an input like `x`.
pub fn route(conv: &Conv2d, x: &Tensor<4>) -> Route {
    if is_pointwise(conv) {
        Route::Pointwise
    } else if is_depthwise3x3(conv) && on_flex_f32(x) {
        Route::Depthwise
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
        Route::Pointwise => conv1x1(x, conv.weight.val(), bias()),
        #[cfg(feature = "flex")]
        Route::Depthwise => depthwise3x3(x, conv.weight.val(), bias(), conv.stride[0]),
        _ => conv.forward(x),
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
