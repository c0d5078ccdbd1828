//! Batch normalization exactly as the BN paper's Algorithm 2: batch statistics in training,
//! and for inference a population variance with the unbiased `m / (m - 1)` correction (as
//! PyTorch's running average too). burn's own `BatchNorm` averages the biased batch variance,
//! which this module corrects. In training, 4-d maps on burn-flex go to this project's own
//! op ([`super::batch_norm_op`], fewer passes over memory); everything else to burn's.

use burn::module::{Param, RunningState};
use burn::prelude::*;
use burn::tensor::module::{batch_norm, batch_norm_train};

#[derive(Module, Debug)]
pub struct BatchNorm {
    pub gamma: Param<Tensor<1>>,
    pub beta: Param<Tensor<1>>,
    pub running_mean: RunningState<Tensor<1>>,
    pub running_var: RunningState<Tensor<1>>,
    momentum: f64,
    epsilon: f64,
}

impl BatchNorm {
    /// gamma 1, beta 0, running mean 0 and variance 1; momentum 0.1, epsilon 1e-5 (PyTorch's).
    pub fn new(features: usize, device: &Device) -> Self {
        Self {
            gamma: Param::from_tensor(Tensor::ones([features], device)),
            beta: Param::from_tensor(Tensor::zeros([features], device)),
            running_mean: RunningState::new(Tensor::zeros([features], device)),
            running_var: RunningState::new(Tensor::ones([features], device)),
            momentum: 0.1,
            epsilon: 1e-5,
        }
    }

    /// Training statistics on an autodiff device, population statistics otherwise (after
    /// `Module::valid`).
    ///
    /// # Shapes
    /// - `x`: `[batch, features, ...]`, batch >= 2 in training
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let device = x.device();
        if !device.is_autodiff() {
            return batch_norm(
                x,
                self.gamma.val(),
                self.beta.val(),
                self.running_mean.value().to_device(&device),
                self.running_var.value().to_device(&device),
                self.epsilon,
            );
        }
        let dims = x.dims();
        let per_feature = dims
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 1)
            .map(|(_, d)| d)
            .product::<usize>();
        let (output, batch_mean, batch_var) = self.train_forward(x);
        let unbiased = per_feature as f64 / (per_feature as f64 - 1.0).max(1.0);
        let m = self.momentum;
        let mean = self.running_mean.value_sync().to_device(&device);
        let var = self.running_var.value_sync().to_device(&device);
        self.running_mean.update(
            mean.mul_scalar(1.0 - m)
                .add(batch_mean.detach().mul_scalar(m))
                .detach(),
        );
        self.running_var.update(
            var.mul_scalar(1.0 - m)
                .add(batch_var.detach().mul_scalar(m * unbiased))
                .detach(),
        );
        output
    }

    /// `(output, mean, biased variance)` with the batch's own statistics.
    fn train_forward<const D: usize>(&self, x: Tensor<D>) -> (Tensor<D>, Tensor<1>, Tensor<1>) {
        #[cfg(feature = "flex")]
        if D == 4 && super::fast_conv::on_flex_f32(&x) {
            let dims = x.dims();
            let nchw = x.reshape([dims[0], dims[1], dims[2], dims[3]]);
            let (y, mean, var) = super::batch_norm_op::batch_norm_nchw_train(
                nchw,
                self.gamma.val(),
                self.beta.val(),
                self.epsilon,
            );
            return (y.reshape(dims), mean, var);
        }
        let out = batch_norm_train(x, self.gamma.val(), self.beta.val(), self.epsilon);
        (out.output, out.mean, out.variance)
    }
}
