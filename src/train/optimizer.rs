//! The spec's optimizer settings -> a burn optimizer, with PyTorch's conventions where burn's
//! defaults differ (no momentum dampening), TensorFlow's RMSProp on request
//! (`train.rmsprop_style`), and weight decay limited to some parameters
//! (`train.decay_skips`).
//!
//! Decay per parameter uses burn's parameter groups: the optimizer with decay is the fallback
//! for every parameter, and the same optimizer without decay is a group of the skipped
//! parameters' module paths (`blocks.3.depthwise.conv.weight`), which burn matches when it
//! first steps a parameter and when it loads a checkpoint's optimizer state.

use burn::module::{Module, ModuleVisitor, Param, ParamGroup};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::optim::{RmsPropConfig, SgdConfig};
use burn::tensor::Tensor;

use super::rmsprop_tf::TfRmsPropConfig;
use crate::config::{DecaySkip, Optimizer, RmspropStyle, TrainSpec};

/// The optimizer of `t` for `model` (whose parameters' paths pick the ones `decay_skips`
/// names).
pub fn build<M: Module>(t: &TrainSpec, model: &M) -> ModuleOptimizer {
    let skipped = decay_skipped(model, &t.decay_skips);
    let decayed = bare(t, t.weight_decay);
    if t.weight_decay > 0.0 && !skipped.is_empty() {
        decayed.with_group(ParamGroup::from_paths(skipped), bare(t, 0.0))
    } else {
        decayed.into_module()
    }
}

/// One optimizer of `t`'s kind with L2 penalty `decay`, before it is given to a
/// [`ModuleOptimizer`].
enum Bare {
    Sgd(burn::optim::Sgd),
    Adam(burn::optim::Adam),
    RmsProp(burn::optim::RmsProp),
    TfRmsProp(super::rmsprop_tf::TfRmsProp),
}

impl Bare {
    fn into_module(self) -> ModuleOptimizer {
        match self {
            Bare::Sgd(o) => o.into(),
            Bare::Adam(o) => o.into(),
            Bare::RmsProp(o) => o.into(),
            Bare::TfRmsProp(o) => o.into(),
        }
    }

    /// `self` for every parameter but those of `group`, which get `other`.
    fn with_group(self, group: ParamGroup, other: Bare) -> ModuleOptimizer {
        let module = self.into_module();
        match other {
            Bare::Sgd(o) => module.with_group(group, o, None),
            Bare::Adam(o) => module.with_group(group, o, None),
            Bare::RmsProp(o) => module.with_group(group, o, None),
            Bare::TfRmsProp(o) => module.with_group(group, o, None),
        }
    }
}

fn bare(t: &TrainSpec, decay: f64) -> Bare {
    let decay_config = (decay > 0.0).then(|| WeightDecayConfig::new(decay as f32));
    match t.optimizer {
        Optimizer::Sgd => {
            let momentum = (t.momentum > 0.0).then(|| {
                MomentumConfig::new()
                    .with_momentum(t.momentum)
                    .with_dampening(0.0)
                    .with_nesterov(t.nesterov)
            });
            Bare::Sgd(
                SgdConfig::new()
                    .with_momentum(momentum)
                    .with_weight_decay(decay_config)
                    .build(),
            )
        }
        Optimizer::Adam => Bare::Adam(
            AdamConfig::new()
                .with_beta_1(t.beta1 as f32)
                .with_beta_2(t.beta2 as f32)
                .with_epsilon(t.epsilon as f32)
                .with_weight_decay(decay_config)
                .build(),
        ),
        Optimizer::Rmsprop => match t.rmsprop_style {
            RmspropStyle::Pytorch => Bare::RmsProp(
                RmsPropConfig::new()
                    .with_alpha(t.rms_decay as f32)
                    .with_momentum(t.momentum as f32)
                    .with_epsilon(t.epsilon as f32)
                    .with_weight_decay(decay_config)
                    .build(),
            ),
            RmspropStyle::Tensorflow => Bare::TfRmsProp(
                TfRmsPropConfig {
                    rho: t.rms_decay as f32,
                    momentum: t.momentum as f32,
                    epsilon: t.epsilon as f32,
                    weight_decay: (decay > 0.0).then_some(decay as f32),
                }
                .build(),
            ),
        },
    }
}

/// The module paths of `model`'s float parameters that one of `skips` names:
/// - `batch_norm`: the parameters of a `BatchNorm` module (ours and burn's: gamma, beta);
/// - `depthwise`: the rank-4 weights with one input channel per group (`[C, 1, k, k]`) under a
///   module named `depthwise` (MobileNetV2's `blocks.N.depthwise.conv.weight`);
/// - `bias`: every parameter named `bias`.
pub fn decay_skipped<M: Module>(model: &M, skips: &[DecaySkip]) -> Vec<String> {
    if skips.is_empty() {
        return Vec::new();
    }
    let mut v = Classifier {
        skips,
        path: Vec::new(),
        owners: Vec::new(),
        found: Vec::new(),
    };
    model.visit(&mut v);
    v.found
}

struct Classifier<'a> {
    skips: &'a [DecaySkip],
    /// Field names from the root to the current parameter.
    path: Vec<String>,
    /// The container type of each entered field (`Struct:BatchNorm`, `Vec`, ...).
    owners: Vec<String>,
    found: Vec<String>,
}

impl ModuleVisitor for Classifier<'_> {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.path.push(name.to_string());
        self.owners.push(container_type.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
        self.owners.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let name = self.path.last().map(String::as_str).unwrap_or("");
        let owner = self.owners.last().map(String::as_str).unwrap_or("");
        let skipped = self.skips.iter().any(|s| match s {
            DecaySkip::BatchNorm => owner == "Struct:BatchNorm",
            DecaySkip::Depthwise => {
                D == 4
                    && name == "weight"
                    && param.lazy_shape()[1] == 1
                    && self.path.iter().any(|p| p == "depthwise")
            }
            DecaySkip::Bias => name == "bias",
        });
        if skipped {
            self.found.push(self.path.join("."));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::mobilenet_v2::{Arch, MobileNetV2, NetConfig};
    use burn::optim::GradientsParams;
    use burn::tensor::{Device, Distribution};

    /// A small MobileNetV2 on 1-channel input: its stem weight is `[C, 1, 3, 3]` like a
    /// depthwise one, and must still be decayed.
    fn small(device: &Device) -> MobileNetV2 {
        let net = NetConfig {
            width_multiplier: 0.35,
            resolution: 8,
            stem_stride: 1,
            rows: vec![[1, 16, 1, 1], [6, 24, 2, 2]],
            ..NetConfig::default()
        };
        MobileNetV2::new(&Arch::new(&net, 1, 10), device)
    }

    fn flat<const D: usize>(p: &Param<Tensor<D>>) -> Vec<f32> {
        p.val().inner().to_data().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn decay_skips_pick_batch_norm_depthwise_and_bias_parameters_only() {
        let device = Device::flex().autodiff();
        let model = small(&device);
        let all = [DecaySkip::BatchNorm, DecaySkip::Depthwise, DecaySkip::Bias];
        let skipped = decay_skipped(&model, &all);
        let has = |p: &str| skipped.iter().any(|s| s == p);
        assert_eq!(model.blocks.len(), 3);
        for i in 0..3 {
            assert!(
                has(&format!("blocks.{i}.depthwise.conv.weight")),
                "{skipped:?}"
            );
            assert!(has(&format!("blocks.{i}.depthwise.norm.gamma")));
            assert!(has(&format!("blocks.{i}.project.norm.beta")));
            assert!(!has(&format!("blocks.{i}.project.conv.weight")));
            assert!(!has(&format!("blocks.{i}.expand.conv.weight")));
        }
        assert!(has("stem.norm.gamma") && has("head.norm.beta") && has("classifier.bias"));
        for decayed in ["stem.conv.weight", "head.conv.weight", "classifier.weight"] {
            assert!(!has(decayed), "{decayed} is skipped: {skipped:?}");
        }
        // Each kind alone picks only its own.
        let dw = decay_skipped(&model, &[DecaySkip::Depthwise]);
        assert_eq!(dw.len(), 3, "{dw:?}");
        assert_eq!(
            decay_skipped(&model, &[DecaySkip::Bias]),
            vec!["classifier.bias".to_string()]
        );
        assert!(decay_skipped(&model, &[]).is_empty());
    }

    /// With a zero gradient, SGD at lr 1 and weight decay 0.5 halves every decayed parameter
    /// and leaves the skipped ones as they were.
    #[test]
    fn skipped_parameters_get_no_decay() {
        let device = Device::flex().autodiff();
        device.seed(3);
        let model = small(&device);
        let spec = TrainSpec {
            lr: 1.0,
            weight_decay: 0.5,
            decay_skips: vec![DecaySkip::BatchNorm, DecaySkip::Depthwise],
            ..TrainSpec::default()
        };
        let mut optim = build(&spec, &model);
        let x = Tensor::<4>::random([2, 1, 8, 8], Distribution::Default, &device);
        let loss = model.forward(x).sum().mul_scalar(0.0);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let before = (
            flat(&model.stem.conv.weight),
            flat(&model.blocks[1].depthwise.conv.weight),
            flat(&model.blocks[1].expand.as_ref().unwrap().conv.weight),
            flat(&model.stem.norm.gamma),
            flat(&model.classifier.weight),
        );
        let after = optim.step(1.0, model, grads);
        let halved = |b: &[f32], a: Vec<f32>| {
            assert!(b.iter().zip(&a).all(|(b, a)| (b * 0.5 - a).abs() < 1e-7));
            assert!(b.iter().any(|v| *v != 0.0));
        };
        halved(&before.0, flat(&after.stem.conv.weight));
        assert_eq!(before.1, flat(&after.blocks[1].depthwise.conv.weight));
        halved(
            &before.2,
            flat(&after.blocks[1].expand.as_ref().unwrap().conv.weight),
        );
        assert_eq!(before.3, flat(&after.stem.norm.gamma));
        halved(&before.4, flat(&after.classifier.weight));

        // Without decay_skips every parameter decays, as before the option existed.
        let model = small(&device);
        let spec = TrainSpec {
            decay_skips: Vec::new(),
            ..spec
        };
        let mut optim = build(&spec, &model);
        let x = Tensor::<4>::random([2, 1, 8, 8], Distribution::Default, &device);
        let grads =
            GradientsParams::from_grads(model.forward(x).sum().mul_scalar(0.0).backward(), &model);
        let dw = flat(&model.blocks[1].depthwise.conv.weight);
        let after = optim.step(1.0, model, grads);
        halved(&dw, flat(&after.blocks[1].depthwise.conv.weight));
        assert!(
            flat(&after.stem.norm.gamma)
                .iter()
                .all(|g| (*g - 0.5).abs() < 1e-7)
        );
    }
}
