//! The one place conv models run a [`Conv2d`]: convolutions this project computes faster than
//! burn 0.22's generic ones go to their own op ([`conv1x1`]), every other one to burn's conv.
//! Models call [`conv2d`] instead of `Conv2d::forward`; parameters, initialization and
//! checkpoints stay those of burn's module.

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::prelude::*;

use super::pointwise::conv1x1;

/// `conv.forward(x)`, computed by the fastest op that fits the conv's settings.
///
/// # Shapes
/// - `x`: `[batch, in_channels, height, width]` -> `[batch, out_channels, height', width']`
pub fn conv2d(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let bias = || conv.bias.as_ref().map(|b| b.val());
    if is_pointwise(conv) {
        return conv1x1(x, conv.weight.val(), bias());
    }
    conv.forward(x)
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
