//! RMSProp as TensorFlow computes it (`tf.compat.v1.train.RMSPropOptimizer`, the optimizer of
//! the MobileNetV2 reference training, TF-slim's `train_image_classifier.py`).
//!
//! TensorFlow's kernel (`training_ops.cc`, `ApplyRMSProp`) differs from PyTorch's and burn's
//! `RmsProp` in three places:
//!
//! ```text
//! ms  = rho * ms + (1 - rho) * g^2          ms starts at 1 (PyTorch/burn: at 0)
//! mom = momentum * mom + lr * g / sqrt(ms + eps)     eps inside the root (PyTorch: sqrt(ms) + eps)
//! w  -= mom                                  lr inside the momentum buffer (PyTorch: w -= lr * buf)
//! ```
//!
//! With a constant learning rate the third difference vanishes; with a decaying one the buffer
//! keeps the rates of the steps that filled it. Weight decay, when given, is added to the
//! gradient first (`g + decay * w`), which is what TF's L2 regularizer in the loss amounts to
//! (`decay * sum(w^2) / 2` has gradient `decay * w`), so it enters `ms` too.

use burn::optim::{LearningRate, Optimizer, RecordState, StateSink, StateSource};
use burn::tensor::{Device, Tensor};

/// Settings of [`TfRmsProp`]; TF's names (`decay` is our `rho`).
#[derive(Clone, Debug)]
pub struct TfRmsPropConfig {
    /// Decay of the mean square (TF `decay`, PyTorch `alpha`).
    pub rho: f32,
    pub momentum: f32,
    /// Added to the mean square inside the square root.
    pub epsilon: f32,
    /// L2 penalty added to the gradient (`None`: no decay).
    pub weight_decay: Option<f32>,
}

impl TfRmsPropConfig {
    pub fn build(&self) -> TfRmsProp {
        TfRmsProp {
            rho: self.rho,
            momentum: self.momentum,
            epsilon: self.epsilon,
            weight_decay: self.weight_decay,
        }
    }
}

/// TensorFlow's RMSProp, one parameter at a time (burn's [`Optimizer`]).
#[derive(Clone)]
pub struct TfRmsProp {
    rho: f32,
    momentum: f32,
    epsilon: f32,
    /// L2 penalty added to the gradient, as burn's `WeightDecay` adds it.
    weight_decay: Option<f32>,
}

/// Per-parameter state: TF's `rms` and `momentum` slots.
#[derive(Clone)]
pub struct TfRmsPropState<const D: usize> {
    /// Mean square of the gradient; starts at ones.
    pub ms: Tensor<D>,
    /// The update of the last step (the learning rate already in it).
    pub mom: Tensor<D>,
}

impl<const D: usize> RecordState for TfRmsPropState<D> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        out.push_tensor(prefix, "ms", self.ms.to_data());
        out.push_tensor(prefix, "mom", self.mom.to_data());
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        let ms = src.take_tensor(prefix, "ms")?;
        let mom = src.take_tensor(prefix, "mom")?;
        if ms.rank() != D || mom.rank() != D {
            return None;
        }
        Some(Self {
            ms: Tensor::from_data(ms, device),
            mom: Tensor::from_data(mom, device),
        })
    }
}

impl Optimizer for TfRmsProp {
    type State<const D: usize> = TfRmsPropState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        self.tensor_step(lr, tensor, grad, state)
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        TfRmsPropState {
            ms: state.ms.to_device(device),
            mom: state.mom.to_device(device),
        }
    }
}

impl TfRmsProp {
    /// The step as burn tensor ops, for every backend.
    pub fn tensor_step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<TfRmsPropState<D>>,
    ) -> (Tensor<D>, Option<TfRmsPropState<D>>) {
        let grad = match self.weight_decay {
            Some(penalty) => tensor.clone().mul_scalar(penalty).add(grad),
            None => grad,
        };
        let (ms, mom) = match state {
            Some(s) => (s.ms, Some(s.mom)),
            None => (grad.ones_like(), None),
        };
        let ms = ms
            .mul_scalar(self.rho)
            .add(grad.clone().square().mul_scalar(1.0 - self.rho));
        let update = grad
            .mul_scalar(lr)
            .div(ms.clone().add_scalar(self.epsilon).sqrt());
        // mom starts at zeros in TF, so the first step's update is the scaled gradient alone.
        let mom = match mom {
            Some(m) if self.momentum > 0.0 => m.mul_scalar(self.momentum).add(update),
            _ => update,
        };
        (tensor - mom.clone(), Some(TfRmsPropState { ms, mom }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Optimizer as Opt, RmspropStyle, TrainSpec};
    use burn::module::Param;
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::GradientsParams;

    fn values(t: &Tensor<1>) -> Vec<f32> {
        t.to_data().try_to_vec::<f32>().unwrap()
    }

    fn assert_close(got: &[f32], want: &[f64], what: &str) {
        assert_eq!(got.len(), want.len(), "{what}");
        for (g, w) in got.iter().zip(want) {
            assert!(
                (*g as f64 - w).abs() < 1e-6,
                "{what}: got {got:?}, want {want:?}"
            );
        }
    }

    /// Two steps by hand, rho 0.9, momentum 0.9, epsilon 1.0 (the MobileNetV2 recipe):
    /// w = [1, -2], g1 = [0.5, -1] at lr 0.1, then g2 = [0.2, 0.3] at lr 0.05.
    #[test]
    fn two_steps_match_tensorflows_kernel_by_hand() {
        let device = Device::flex();
        let opt = TfRmsPropConfig {
            rho: 0.9,
            momentum: 0.9,
            epsilon: 1.0,
            weight_decay: None,
        }
        .build();
        let w = Tensor::<1>::from_floats([1.0, -2.0], &device);
        let g1 = Tensor::<1>::from_floats([0.5, -1.0], &device);
        // ms = 0.9 * 1 + 0.1 * g^2 = [0.925, 1.0] (from 1, not 0)
        // mom = 0.1 * g / sqrt(ms + 1) = [0.05 / sqrt(1.925), -0.1 / sqrt(2)]
        //     = [0.0360375, -0.0707107]
        let (w, s) = opt.step(0.1, w, g1, None);
        let s = s.unwrap();
        assert_close(&values(&s.ms), &[0.925, 1.0], "ms after step 1");
        assert_close(
            &values(&s.mom),
            &[0.036_037_498_5, -0.070_710_678_1],
            "mom after step 1",
        );
        assert_close(
            &values(&w),
            &[0.963_962_501_5, -1.929_289_321_9],
            "w after step 1",
        );
        // ms = 0.9 * [0.925, 1] + 0.1 * [0.04, 0.09] = [0.8365, 0.909]
        // mom = 0.9 * mom + 0.05 * g / sqrt(ms + 1)
        //     = [0.0324337 + 0.01 / sqrt(1.8365), -0.0636396 + 0.015 / sqrt(1.909)]
        //     = [0.0398129, -0.0527831]
        let g2 = Tensor::<1>::from_floats([0.2, 0.3], &device);
        let (w, s) = opt.step(0.05, w, g2, Some(s));
        let s = s.unwrap();
        assert_close(&values(&s.ms), &[0.8365, 0.909], "ms after step 2");
        assert_close(
            &values(&s.mom),
            &[0.039_812_868_0, -0.052_783_148_8],
            "mom after step 2",
        );
        assert_close(
            &values(&w),
            &[0.924_149_633_5, -1.876_506_173_0],
            "w after step 2",
        );
    }

    #[test]
    fn weight_decay_is_added_to_the_gradient_before_the_mean_square() {
        let device = Device::flex();
        let opt = TfRmsPropConfig {
            rho: 0.9,
            momentum: 0.0,
            epsilon: 1.0,
            weight_decay: Some(0.5),
        }
        .build();
        // g' = 0.5 + 0.5 * 2 = 1.5; ms = 0.9 + 0.1 * 2.25 = 1.125;
        // w = 2 - 0.1 * 1.5 / sqrt(2.125) = 1.8971008
        let (w, s) = opt.step(
            0.1,
            Tensor::<1>::from_floats([2.0], &device),
            Tensor::<1>::from_floats([0.5], &device),
            None,
        );
        assert_close(&values(&s.unwrap().ms), &[1.125], "ms");
        assert_close(&values(&w), &[1.897_100_831_5], "w");
    }

    fn rmsprop(style: RmspropStyle) -> TrainSpec {
        TrainSpec {
            optimizer: Opt::Rmsprop,
            momentum: 0.9,
            rms_decay: 0.9,
            epsilon: 1.0,
            rmsprop_style: style,
            ..TrainSpec::default()
        }
    }

    /// One bias-only problem (a Linear with zero weights and input) stepped through the
    /// spec's optimizer: `loss = sum(bias * c)` has gradient `c` on the bias.
    fn two_steps(style: RmspropStyle) -> Vec<f32> {
        let device = Device::flex().autodiff();
        let mut model = Linear {
            weight: Param::from_tensor(Tensor::zeros([1, 2], &device)),
            bias: Some(Param::from_tensor(Tensor::from_floats(
                [1.0, -2.0],
                &device,
            ))),
        };
        let mut optim = crate::train::optimizer::build(&rmsprop(style), &model);
        for (lr, g) in [(0.1, [0.5, -1.0]), (0.05, [0.2, 0.3])] {
            let c = Tensor::<1>::from_floats(g, &device);
            let loss = (model.bias.as_ref().unwrap().val() * c).sum();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(lr, model, grads);
        }
        let bias = model.bias.unwrap().val().inner();
        values(&bias)
    }

    #[test]
    fn the_spec_picks_the_update_rule_and_pytorch_stays_the_default() {
        assert_eq!(TrainSpec::default().rmsprop_style, RmspropStyle::Pytorch);
        // PyTorch by hand: ms from 0, buf = 0.9 buf + g / (sqrt(ms) + 1), w -= lr * buf:
        // step 1: [1 - 0.1 * 0.5 / (sqrt(0.025) + 1), -2 + 0.1 / (sqrt(0.1) + 1)]
        assert_close(
            &two_steps(RmspropStyle::Pytorch),
            &[0.928_798_193_4, -1.901_246_640_3],
            "pytorch",
        );
        assert_close(
            &two_steps(RmspropStyle::Tensorflow),
            &[0.924_149_633_5, -1.876_506_173_0],
            "tensorflow",
        );
    }

    /// A checkpoint's optimizer state brings TF RMSProp's ms and mom back exactly.
    #[test]
    fn the_state_survives_a_record_round_trip() {
        let device = Device::flex().autodiff();
        let model: Linear = LinearConfig::new(3, 2).init(&device);
        let spec = rmsprop(RmspropStyle::Tensorflow);
        let x = Tensor::<2>::from_floats([[0.5, -1.0, 2.0]], &device);
        let grads =
            |m: &Linear| GradientsParams::from_grads(m.forward(x.clone()).sum().backward(), m);
        let mut optim = crate::train::optimizer::build(&spec, &model);
        let g = grads(&model);
        let model = optim.step(0.1, model, g);
        let record = optim.to_record();
        let mut restored = crate::train::optimizer::build(&spec, &model).load_record(record);
        let a = optim.step(0.1, model.clone(), grads(&model));
        let b = restored.step(0.1, model.clone(), grads(&model));
        let (a, b) = (a.weight.val().inner(), b.weight.val().inner());
        assert_eq!(
            a.to_data().try_to_vec::<f32>().unwrap(),
            b.to_data().try_to_vec::<f32>().unwrap()
        );
        // And the restored state is not a fresh one (ms = 1 again would give another step).
        let mut fresh = crate::train::optimizer::build(&spec, &model);
        let c = fresh
            .step(0.1, model.clone(), grads(&model))
            .weight
            .val()
            .inner();
        assert_ne!(
            a.to_data().try_to_vec::<f32>().unwrap(),
            c.to_data().try_to_vec::<f32>().unwrap()
        );
    }
}
