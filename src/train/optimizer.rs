//! The spec's optimizer settings -> a burn optimizer, with PyTorch's conventions where burn's
//! defaults differ (no momentum dampening).

use burn::optim::decay::WeightDecayConfig;
#[cfg(not(feature = "flex"))]
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, ModuleOptimizer};
#[cfg(not(feature = "flex"))]
use burn::optim::{RmsPropConfig, SgdConfig};

use crate::config::{Optimizer, TrainSpec};

pub fn build(t: &TrainSpec) -> ModuleOptimizer {
    let decay = (t.weight_decay > 0.0).then(|| WeightDecayConfig::new(t.weight_decay as f32));
    match t.optimizer {
        // One pass per parameter on flex, bit for bit burn's SGD (src/train/fused_step.rs).
        #[cfg(feature = "flex")]
        Optimizer::Sgd => ModuleOptimizer::from(super::fused_step::FusedSgd {
            weight_decay: t.weight_decay as f32,
            momentum: (t.momentum > 0.0).then_some((t.momentum as f32, 0.0, t.nesterov)),
        }),
        #[cfg(not(feature = "flex"))]
        Optimizer::Sgd => {
            let momentum = (t.momentum > 0.0).then(|| {
                MomentumConfig::new()
                    .with_momentum(t.momentum)
                    .with_dampening(0.0)
                    .with_nesterov(t.nesterov)
            });
            SgdConfig::new()
                .with_momentum(momentum)
                .with_weight_decay(decay)
                .init()
        }
        Optimizer::Adam => AdamConfig::new()
            .with_beta_1(t.beta1 as f32)
            .with_beta_2(t.beta2 as f32)
            .with_epsilon(t.epsilon as f32)
            .with_weight_decay(decay)
            .init(),
        // One pass per parameter on flex, bit for bit burn's RMSProp (src/train/fused_step.rs).
        #[cfg(feature = "flex")]
        Optimizer::Rmsprop => ModuleOptimizer::from(super::fused_step::FusedRmsProp {
            alpha: t.rms_decay as f32,
            epsilon: t.epsilon as f32,
            momentum: t.momentum as f32,
            weight_decay: t.weight_decay as f32,
        }),
        #[cfg(not(feature = "flex"))]
        Optimizer::Rmsprop => RmsPropConfig::new()
            .with_alpha(t.rms_decay as f32)
            .with_momentum(t.momentum as f32)
            .with_epsilon(t.epsilon as f32)
            .with_weight_decay(decay)
            .init(),
    }
}
