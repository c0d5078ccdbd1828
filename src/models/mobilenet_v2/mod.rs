//! MobileNetV2 (Sandler et al. 2018): the inverted residual with linear bottleneck of the
//! paper's Table 1 and the network of its Table 2.
//!
//! The architecture is data twice over: a [`NetConfig`] becomes an [`Arch`] (`arch.rs`: every
//! layer with its shapes, parameters and multiply-adds, computed without tensors), and
//! [`MobileNetV2::new`] builds burn modules from that description. The init is the reference
//! implementations': Kaiming-normal fan-out convs, BN gamma 1 and
//! beta 0, classifier N(0, 0.01) with zero bias.

use burn::module::Param;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Dropout, DropoutConfig, Initializer, Linear, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::Distribution;

use super::batch_norm::BatchNorm;
use super::fast_conv::conv2d;

mod arch;

pub use arch::{
    Arch, BlockPlan, BottleneckActivation, ConvPlan, LayerRow, NetConfig, Residual, TABLE2,
    make_divisible,
};

/// ReLU6, `min(max(x, 0), 6)`: this project's own op on burn-flex f32 tensors
/// ([`crate::models::relu6_op`]), elsewhere `relu(x).clamp_max(6)` (on burn's autodiff
/// backend `clamp` becomes two compare-and-`mask_fill` passes each way, while `relu` has a
/// fused kernel on each side). Both give the same values; the gradient at exactly 6 is 0 in
/// ours (PyTorch's rule) and 1 in burn's composition.
pub fn relu6<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    #[cfg(feature = "flex")]
    if crate::models::fast_conv::on_flex_f32(&x) {
        return crate::models::relu6_op::relu6(x);
    }
    burn::tensor::activation::relu(x).clamp_max(6.0)
}

/// Conv -> BatchNorm -> optional ReLU6.
#[derive(Module, Debug)]
pub struct ConvBn {
    pub conv: Conv2d,
    pub norm: BatchNorm,
    #[module(skip)]
    relu6: bool,
}

impl ConvBn {
    /// Kaiming-normal fan-out init as PyTorch computes it (fan-out = out channels x kernel
    /// area, also for depthwise convs), no bias (BN follows).
    pub fn new(p: &ConvPlan, device: &Device) -> Self {
        let fan_out = (p.out_channels * p.kernel * p.kernel) as f64;
        let pad = p.kernel / 2;
        let conv = Conv2dConfig::new([p.in_channels, p.out_channels], [p.kernel, p.kernel])
            .with_stride([p.stride, p.stride])
            .with_groups(p.groups)
            .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
            .with_bias(false)
            .with_initializer(Initializer::Normal {
                mean: 0.0,
                std: (2.0 / fan_out).sqrt(),
            })
            .init(device);
        Self {
            conv,
            norm: BatchNorm::new(p.out_channels, device),
            relu6: p.relu6,
        }
    }

    /// # Shapes
    /// - `x`: `[batch, in_channels, side, side]` -> `[batch, out_channels, side', side']`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let y = self.norm.forward(conv2d(&self.conv, x));
        if self.relu6 { relu6(y) } else { y }
    }
}

/// An inverted residual with linear bottleneck (Table 1).
#[derive(Module, Debug)]
pub struct InvertedResidual {
    pub expand: Option<ConvBn>,
    pub depthwise: ConvBn,
    pub project: ConvBn,
    #[module(skip)]
    bottleneck_shortcut: bool,
    #[module(skip)]
    expansion_shortcut: bool,
}

impl InvertedResidual {
    pub fn new(p: &BlockPlan, device: &Device) -> Self {
        Self {
            expand: p.expand.as_ref().map(|e| ConvBn::new(e, device)),
            depthwise: ConvBn::new(&p.depthwise, device),
            project: ConvBn::new(&p.project, device),
            bottleneck_shortcut: p.bottleneck_shortcut,
            expansion_shortcut: p.expansion_shortcut,
        }
    }

    /// `previous` is the previous block's expansion output, needed when this block has an
    /// expansion shortcut; the block's own expansion output is returned for the next block.
    ///
    /// # Shapes
    /// - `x`: `[batch, in_channels, side, side]` -> `[batch, out_channels, side / stride, ..]`
    pub fn forward(
        &self,
        x: Tensor<4>,
        previous: Option<Tensor<4>>,
    ) -> (Tensor<4>, Option<Tensor<4>>) {
        let mut h = match &self.expand {
            Some(e) => e.forward(x.clone()),
            None => x.clone(),
        };
        if self.expansion_shortcut {
            h = h + previous.expect("the plan gives an expansion shortcut a predecessor");
        }
        let expanded = self.expand.is_some().then(|| h.clone());
        let y = self.project.forward(self.depthwise.forward(h));
        let y = if self.bottleneck_shortcut { y + x } else { y };
        (y, expanded)
    }
}

#[derive(Module, Debug)]
pub struct MobileNetV2 {
    pub stem: ConvBn,
    pub blocks: Vec<InvertedResidual>,
    pub head: ConvBn,
    pub dropout: Dropout,
    pub classifier: Linear,
}

impl MobileNetV2 {
    /// Builds the modules of `arch`; seed the device's RNG first for a reproducible init.
    pub fn new(arch: &Arch, device: &Device) -> Self {
        let features = arch.head.out_channels;
        let weight = Tensor::random(
            [features, arch.classes],
            Distribution::Normal(0.0, 0.01),
            device,
        );
        Self {
            stem: ConvBn::new(&arch.stem, device),
            blocks: arch
                .blocks
                .iter()
                .map(|b| InvertedResidual::new(b, device))
                .collect(),
            head: ConvBn::new(&arch.head, device),
            dropout: DropoutConfig::new(arch.dropout).init(),
            classifier: Linear {
                weight: Param::from_tensor(weight),
                bias: Some(Param::from_tensor(Tensor::zeros([arch.classes], device))),
            },
        }
    }

    /// # Shapes
    /// - `x`: `[batch, in_channels, resolution, resolution]` -> logits `[batch, classes]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let mut x = self.stem.forward(x);
        let mut expanded = None;
        for block in &self.blocks {
            (x, expanded) = block.forward(x, expanded);
        }
        let x = self.head.forward(x);
        let [batch, channels, _, _] = x.dims();
        let pooled = x.mean_dim(3).mean_dim(2).reshape([batch, channels]);
        self.classifier.forward(self.dropout.forward(pooled))
    }
}

#[cfg(test)]
mod tests {
    use super::arch::tests::small;
    use super::*;

    #[test]
    fn the_built_model_has_the_counted_parameters() {
        let device = Device::flex().autodiff();
        for spec in [
            small(3, Residual::Bottleneck),
            NetConfig {
                width_multiplier: 0.35,
                resolution: 32,
                ..NetConfig::default()
            },
        ] {
            let arch = Arch::new(&spec, 3, 10);
            let model = MobileNetV2::new(&arch, &device);
            assert_eq!(
                crate::models::count::trainable_params(&model),
                arch.params()
            );
        }
    }

    #[test]
    fn block_and_network_shapes() {
        let device = Device::flex();
        device.seed(1);
        for residual in [Residual::Bottleneck, Residual::Expansion, Residual::None] {
            let arch = Arch::new(&small(3, residual), 1, 3);
            let model = MobileNetV2::new(&arch, &device);
            let x = Tensor::<4>::random([2, 1, 8, 8], Distribution::Default, &device);
            let mut h = model.stem.forward(x.clone());
            assert_eq!(h.dims(), [2, 8, 8, 8]);
            let mut expanded = None;
            for (block, plan) in model.blocks.iter().zip(&arch.blocks) {
                let (y, e) = block.forward(h, expanded);
                let side = plan.out_size();
                assert_eq!(y.dims(), [2, plan.out_channels(), side, side]);
                assert_eq!(
                    e.as_ref().map(|e| e.dims()[1]),
                    plan.expand.as_ref().map(|p| p.out_channels)
                );
                expanded = e;
                h = y;
            }
            assert_eq!(model.forward(x).dims(), [2, 3]);
        }
    }

    #[test]
    fn a_bottleneck_block_adds_its_input_only_with_a_shortcut() {
        let device = Device::flex();
        device.seed(2);
        let arch = Arch::new(&small(2, Residual::Bottleneck), 1, 3);
        let with = InvertedResidual::new(&arch.blocks[0], &device);
        assert!(arch.blocks[0].bottleneck_shortcut);
        let mut plain_plan = arch.blocks[0].clone();
        plain_plan.bottleneck_shortcut = false;
        let mut without = InvertedResidual::new(&plain_plan, &device);
        // Same weights in both.
        without.depthwise = with.depthwise.clone();
        without.project = with.project.clone();
        let x = Tensor::<4>::random([2, 8, 8, 8], Distribution::Default, &device);
        let (a, _) = with.forward(x.clone(), None);
        let (b, _) = without.forward(x.clone(), None);
        let diff = (a - b - x).abs().max().into_scalar::<f32>();
        assert!(diff < 1e-5, "{diff}");
    }

    #[test]
    fn relu6_bottlenecks_are_non_negative_and_linear_ones_are_not() {
        let device = Device::flex();
        device.seed(3);
        for (activation, negative_expected) in [
            (BottleneckActivation::Linear, true),
            (BottleneckActivation::Relu6, false),
        ] {
            let spec = NetConfig {
                bottleneck_activation: activation,
                residual: Residual::None,
                ..small(2, Residual::None)
            };
            let arch = Arch::new(&spec, 1, 3);
            let block = InvertedResidual::new(&arch.blocks[1], &device);
            let x = Tensor::<4>::random([4, 8, 8, 8], Distribution::Default, &device);
            let min = block.forward(x, None).0.min().into_scalar::<f32>();
            assert_eq!(min < 0.0, negative_expected, "{activation:?}: min {min}");
        }
    }
}
