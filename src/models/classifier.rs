//! An image classifier chosen by `model.arch`: the MLPs, small AlexNet and small Inception of
//! Zhang et al. 2017 behind one forward pass on `[batch, channels, height, width]` images.

use burn::prelude::*;

use super::alexnet_small::AlexNetSmall;
use super::inception_small::InceptionSmall;
use serde::{Deserialize, Serialize};

use super::count::Sizes;
use super::mlp::{Mlp, MlpConfig};

/// The network family of `[model]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    /// Fully connected: `hidden`, `activation`, `batch_norm`, `dropout`, `init_std`.
    Mlp,
    /// Zhang et al.'s small AlexNet: two (conv 5x5, max-pool 3x3, LRN) modules, FC 384, FC 192.
    AlexnetSmall,
    /// Zhang et al.'s small Inception (their Figure 3), with or without `batch_norm`.
    InceptionSmall,
}

impl Arch {
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::Mlp => "mlp",
            Arch::AlexnetSmall => "alexnet_small",
            Arch::InceptionSmall => "inception_small",
        }
    }
}

/// A classifier of one of the archs; `width` scales the convolutional ones, `mlp` is the
/// fully connected one (its `batch_norm` also switches small Inception's).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifierConfig {
    pub arch: Arch,
    pub width: f64,
    pub mlp: MlpConfig,
}

impl ClassifierConfig {
    /// The sizes of a convolutional arch's net on `input` (`[channels, height, width]`),
    /// without building it; `None` for the MLP (`config::memory::mlp` sizes it).
    pub fn conv_sizes(&self, input: [usize; 3], classes: usize) -> Option<Sizes> {
        match self.arch {
            Arch::Mlp => None,
            Arch::AlexnetSmall => Some(AlexNetSmall::sizes(input, classes, self.width)),
            Arch::InceptionSmall => Some(InceptionSmall::sizes(
                input,
                classes,
                self.width,
                self.mlp.batch_norm,
            )),
        }
    }
}

// One net per training run: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Classifier {
    Mlp(Mlp),
    AlexNet(AlexNetSmall),
    Inception(InceptionSmall),
}

impl Classifier {
    /// `input` is `[channels, height, width]`. The device's RNG must be seeded beforehand for a
    /// reproducible init.
    pub fn new(
        spec: &ClassifierConfig,
        input: [usize; 3],
        classes: usize,
        device: &Device,
    ) -> Self {
        match spec.arch {
            Arch::Mlp => {
                Classifier::Mlp(Mlp::new(&spec.mlp, input.iter().product(), classes, device))
            }
            Arch::AlexnetSmall => {
                Classifier::AlexNet(AlexNetSmall::new(input, classes, spec.width, device))
            }
            Arch::InceptionSmall => Classifier::Inception(InceptionSmall::new(
                input[0],
                classes,
                spec.width,
                spec.mlp.batch_norm,
                device,
            )),
        }
    }

    /// # Shapes
    /// - `x`: `[batch, channels, height, width]`
    /// - returns `[batch, classes]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        match self {
            Classifier::Mlp(m) => m.forward(x.flatten(1, 3)).logits,
            Classifier::AlexNet(m) => m.forward(x),
            Classifier::Inception(m) => m.forward(x),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::count::trainable_params;
    use crate::models::mlp::Activation;

    fn params(spec: ClassifierConfig, input: [usize; 3]) -> usize {
        let device = Device::flex().autodiff();
        trainable_params(&Classifier::new(&spec, input, 10, &device))
    }

    /// Zhang et al.'s settings: ReLU, the paper's widths, Gaussian init std 0.1.
    fn spec(arch: Arch, hidden: Vec<usize>, batch_norm: bool) -> ClassifierConfig {
        ClassifierConfig {
            arch,
            width: 1.0,
            mlp: MlpConfig {
                hidden,
                activation: Activation::Relu,
                batch_norm,
                dropout: 0.0,
                init_std: 0.1,
            },
        }
    }

    /// On the paper's 28x28x3 CIFAR-10 crops every architecture has exactly the weight count
    /// of its Table 1.
    #[test]
    fn table1_parameter_counts_on_28x28x3() {
        let cifar = [3, 28, 28];
        assert_eq!(params(spec(Arch::Mlp, vec![512], false), cifar), 1_209_866);
        assert_eq!(
            params(spec(Arch::Mlp, vec![512; 3], false), cifar),
            1_735_178
        );
        assert_eq!(
            params(spec(Arch::AlexnetSmall, vec![], false), cifar),
            1_387_786
        );
        assert_eq!(
            params(spec(Arch::InceptionSmall, vec![], false), cifar),
            1_649_402
        );
        // With BN: the paper's count leaves out BN's scale and shift (2 per conv channel).
        let bn_channels = 96 + 64 + 80 + 80 + 160 + 160 + 160 + 144 + 96 + 336 + 336;
        assert_eq!(
            params(spec(Arch::InceptionSmall, vec![], true), cifar),
            1_649_402 + 2 * bn_channels
        );
    }

    /// The sizes computed from the shape alone count exactly the parameters of the built net,
    /// at several widths and inputs; the activations are those of the layers' real outputs.
    #[test]
    fn conv_sizes_count_the_built_nets_parameters() {
        for arch in [Arch::AlexnetSmall, Arch::InceptionSmall] {
            for batch_norm in [false, true] {
                for width in [0.1, 0.5, 1.0, 1.3] {
                    for input in [[3, 28, 28], [1, 28, 28], [3, 32, 32], [1, 9, 13]] {
                        let s = ClassifierConfig {
                            width,
                            ..spec(arch, vec![], batch_norm)
                        };
                        let sizes = s.conv_sizes(input, 10).unwrap();
                        let real = params(s.clone(), input);
                        assert_eq!(sizes.params, real as f64, "{arch:?} {width} {input:?}");
                        assert!(sizes.activations > 0.0);
                    }
                }
            }
        }
        assert!(
            spec(Arch::Mlp, vec![8], false)
                .conv_sizes([1, 28, 28], 10)
                .is_none()
        );
        // Small AlexNet on 28x28x3 at width 1: conv1 64x28x28, pool and LRN 2 x 64x14x14,
        // conv2 64x14x14, pool and LRN 2 x 64x7x7, then 384 + 192 + 10 units.
        let alex = spec(Arch::AlexnetSmall, vec![], false)
            .conv_sizes([3, 28, 28], 10)
            .unwrap();
        let expected = 64 * 784 + 2 * 64 * 196 + 64 * 196 + 2 * 64 * 49 + 384 + 192 + 10;
        assert_eq!(alex.activations, expected as f64);
    }

    #[test]
    fn every_arch_maps_images_to_logits() {
        let device = Device::flex();
        for arch in [Arch::Mlp, Arch::AlexnetSmall, Arch::InceptionSmall] {
            let s = ClassifierConfig {
                width: 0.125,
                ..spec(arch, vec![16], false)
            };
            let net = Classifier::new(&s, [1, 28, 28], 10, &device);
            let logits = net.forward(Tensor::zeros([3, 1, 28, 28], &device));
            assert_eq!(logits.dims(), [3, 10], "{arch:?}");
        }
    }
}
