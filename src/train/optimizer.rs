//! The spec's optimizer settings -> a burn optimizer, with PyTorch's conventions where burn's
//! defaults differ (no momentum dampening).

use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, ModuleOptimizer, RmsPropConfig, SgdConfig};

use crate::config::{Optimizer, TrainSpec};

pub fn build(t: &TrainSpec) -> ModuleOptimizer {
    let decay = (t.weight_decay > 0.0).then(|| WeightDecayConfig::new(t.weight_decay as f32));
    match t.optimizer {
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
        Optimizer::Rmsprop => RmsPropConfig::new()
            .with_alpha(t.rms_decay as f32)
            .with_momentum(t.momentum as f32)
            .with_epsilon(t.epsilon as f32)
            .with_weight_decay(decay)
            .init(),
    }
}
