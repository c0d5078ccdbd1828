//! The fused SGD and RMSProp steps (src/train/fused_step.rs) against burn's own optimizers:
//! the same parameter bits after every step, for every setting our specs use, and a state
//! saved by burn's optimizer resumes in ours with the same bits (checkpoints keep their format);
//! and TensorFlow's RMSProp fused against its own tensor ops.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{
    GradientsParams, LearningRate, ModuleOptimizer, Optimizer, RmsPropConfig, SgdConfig,
};
use burn::prelude::*;
use runner::train::fused_step::{FusedRmsProp, FusedSgd};
use runner::train::rmsprop_tf::{TfRmsProp, TfRmsPropConfig, TfRmsPropState};

#[derive(Module, Debug)]
struct Net {
    conv: Conv2d,
    linear: Linear,
}

impl Net {
    fn new(device: &Device) -> Self {
        Self {
            conv: Conv2dConfig::new([2, 3], [3, 3]).init(device),
            linear: LinearConfig::new(12, 4).init(device),
        }
    }

    fn loss(&self, x: Tensor<4>) -> Tensor<1> {
        let y = self.conv.forward(x).flatten::<2>(1, 3);
        let z = self.linear.forward(y);
        (z.clone() * z.clone().sin()).sum()
    }
}

fn bits(net: &Net) -> Vec<u32> {
    let mut out = Vec::new();
    for t in [
        net.conv.weight.val().flatten::<1>(0, 3),
        net.conv.bias.as_ref().unwrap().val(),
        net.linear.weight.val().flatten::<1>(0, 1),
        net.linear.bias.as_ref().unwrap().val(),
    ] {
        let values = t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        out.extend(values.iter().map(|v| v.to_bits()));
    }
    out
}

/// `steps` steps of `optim` from the same start and inputs; the parameter bits after each.
fn train(
    optim: &mut ModuleOptimizer,
    net: Net,
    steps: std::ops::Range<usize>,
) -> (Net, Vec<Vec<u32>>) {
    let device = Device::flex().autodiff();
    let mut net = net;
    let mut seen = Vec::new();
    for step in steps {
        // Inputs from the step number, the same on both sides.
        let values: Vec<f32> = (0..96)
            .map(|i| (i as f32 * 0.37 + step as f32).sin())
            .collect();
        let x = Tensor::<4>::from_data(TensorData::new(values, [3, 2, 4, 4]), &device);
        let grads = GradientsParams::from_grads(net.loss(x).backward(), &net);
        // A learning rate that changes, as schedules do.
        net = optim.step(0.05 / (1.0 + step as f64), net, grads);
        seen.push(bits(&net));
    }
    (net, seen)
}

fn start() -> Net {
    let device = Device::flex().autodiff();
    burn::prelude::Device::seed(&device, 7);
    Net::new(&device)
}

fn same_as_burn(
    name: &str,
    burn: impl Fn() -> ModuleOptimizer,
    fused: impl Fn() -> ModuleOptimizer,
) {
    let net = start();
    let (_, expected) = train(&mut burn(), net.clone(), 0..5);
    let (_, got) = train(&mut fused(), net.clone(), 0..5);
    assert_eq!(got, expected, "{name}: parameters after each step");

    // burn's state after 2 steps, saved and loaded into ours: the next steps agree.
    let mut b = burn();
    let (after, _) = train(&mut b, net, 0..2);
    let bytes = b.into_bytes().unwrap();
    let (_, expected) = train(&mut b, after.clone(), 2..5);
    let mut f = fused().from_bytes(bytes).unwrap();
    let (_, got) = train(&mut f, after.clone(), 2..5);
    assert_eq!(got, expected, "{name}: resumed from burn's saved state");

    // And ours saved and loaded again.
    let mut f = fused();
    let (after, _) = train(&mut f, after, 2..3);
    let bytes = f.into_bytes().unwrap();
    let (_, expected) = train(&mut f, after.clone(), 3..5);
    let mut g = fused().from_bytes(bytes).unwrap();
    let (_, got) = train(&mut g, after, 3..5);
    assert_eq!(got, expected, "{name}: resumed from its own saved state");
}

#[test]
fn fused_sgd_is_burns_sgd_bit_for_bit() {
    // (momentum, nesterov, weight decay)
    for (m, nesterov, wd) in [
        (0.0, false, 0.0),
        (0.0, false, 5e-4),
        (0.9, false, 0.0),
        (0.9, false, 5e-4),
        (0.9, true, 1e-4),
    ] {
        let burn = || {
            let momentum = (m > 0.0).then(|| {
                MomentumConfig::new()
                    .with_momentum(m)
                    .with_dampening(0.0)
                    .with_nesterov(nesterov)
            });
            SgdConfig::new()
                .with_momentum(momentum)
                .with_weight_decay((wd > 0.0).then(|| WeightDecayConfig::new(wd)))
                .init()
        };
        let fused = || {
            ModuleOptimizer::from(FusedSgd {
                weight_decay: wd,
                momentum: (m > 0.0).then_some((m as f32, 0.0, nesterov)),
            })
        };
        same_as_burn(
            &format!("sgd momentum {m} nesterov {nesterov} decay {wd}"),
            burn,
            fused,
        );
    }
}

#[test]
fn fused_rmsprop_is_burns_rmsprop_bit_for_bit() {
    // (alpha, epsilon, momentum, weight decay): MobileNetV2's setting first.
    for (alpha, eps, m, wd) in [
        (0.9, 1.0, 0.9, 4e-5),
        (0.99, 1e-8, 0.0, 0.0),
        (0.9, 1e-3, 0.5, 0.0),
    ] {
        let burn = || {
            RmsPropConfig::new()
                .with_alpha(alpha)
                .with_momentum(m)
                .with_epsilon(eps)
                .with_weight_decay((wd > 0.0).then(|| WeightDecayConfig::new(wd)))
                .init()
        };
        let fused = || {
            ModuleOptimizer::from(FusedRmsProp {
                alpha,
                epsilon: eps,
                momentum: m,
                weight_decay: wd,
            })
        };
        same_as_burn(
            &format!("rmsprop alpha {alpha} eps {eps} momentum {m} decay {wd}"),
            burn,
            fused,
        );
    }
}

/// TensorFlow's RMSProp as tensor ops (the path of other backends), for comparison.
#[derive(Clone)]
struct TfTensorOps(TfRmsProp);

impl Optimizer for TfTensorOps {
    type State<const D: usize> = TfRmsPropState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        self.0.tensor_step(lr, tensor, grad, state)
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        TfRmsProp::to_device(state, device)
    }
}

#[test]
fn fused_tensorflow_rmsprop_is_its_tensor_ops_bit_for_bit() {
    // (rho, epsilon, momentum, weight decay): MobileNetV2's reference setting first.
    for (rho, epsilon, momentum, wd) in [(0.9, 1.0, 0.9, Some(4e-5)), (0.9, 1e-3, 0.0, None)] {
        let config = TfRmsPropConfig {
            rho,
            momentum,
            epsilon,
            weight_decay: wd,
        };
        same_as_burn(
            &format!("tensorflow rmsprop rho {rho} eps {epsilon} momentum {momentum} decay {wd:?}"),
            || ModuleOptimizer::from(TfTensorOps(config.build())),
            || ModuleOptimizer::from(config.build()),
        );
    }
}
