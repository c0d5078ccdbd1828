//! BatchNorm's training op (batch statistics) on NCHW maps as this project's own burn-flex
//! op, forward and backward.
//!
//! burn 0.22's generic `batch_norm_train` swaps the batch and channel axes (a full copy) for
//! each of its two reductions forward and again backward, and runs the normalization and its
//! gradient as chains of broadcast tensor ops: ~1.8x PyTorch's time in MobileNetV2
//! (docs/benchmarks.md). Here each channel's `N` planes are read in place: statistics in two
//! passes (mean, then the mean squared deviation, as burn computes them), the output in one;
//! backward, the two per-channel sums in one pass and the input gradient in another.
//! Sums run per channel inside one task, over images in order (f32 within a plane, f64
//! across planes), so results are bit-identical at any thread count.
//!
//! [`super::batch_norm::BatchNorm`] routes 4-d f32 inputs on a flex device here; every other
//! input (the MLP's 2-d features, GPU backends) keeps burn's op.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{
    Autodiff, AutodiffBackend, Backend, Flex, backend_extension, tensor::FloatTensor,
};
use burn::prelude::*;
use burn::tensor::Shape;
use rayon::prelude::*;
use std::ops::Range;

use super::flex_data::{f32s, lane_sum, tensor, unwritten};

/// The op as a backend extension: `(output, mean, biased variance)` of `x` `[N, C, H, W]`
/// normalized with its own per-channel statistics, scaled by `gamma` and shifted by `beta`.
#[backend_extension(Flex, Autodiff)]
pub trait BatchNormOps: Backend {
    fn batch_norm_nchw_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// The kernels behind [`BatchNormOps`] on a concrete backend; the autodiff implementation's
/// backward calls [`batch_norm_nchw_backward`](Self::batch_norm_nchw_backward).
pub trait BatchNormKernels: Backend {
    fn batch_norm_nchw_forward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
    /// `(dL/dx, dL/dgamma, dL/dbeta)` given `dL/dy` and the forward's statistics.
    fn batch_norm_nchw_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
        grad_out: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// The training forward of BatchNorm on `x` `[N, C, H, W]`: `(output, mean, biased variance)`,
/// the statistics `[C]` and outside the autodiff graph (as burn's `batch_norm_train`).
pub fn batch_norm_nchw_train(
    x: Tensor<4>,
    gamma: Tensor<1>,
    beta: Tensor<1>,
    epsilon: f64,
) -> (Tensor<4>, Tensor<1>, Tensor<1>) {
    let (y, mean, var) = <burn::backend::Dispatch as BatchNormOps>::batch_norm_nchw_train(
        x.into_dispatch(),
        gamma.into_dispatch(),
        beta.into_dispatch(),
        epsilon,
    );
    (
        Tensor::from_dispatch(y),
        Tensor::from_dispatch(mean),
        Tensor::from_dispatch(var),
    )
}

impl BatchNormOps for Flex {
    fn batch_norm_nchw_train(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        epsilon: f64,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        Flex::batch_norm_nchw_forward(x, gamma, beta, epsilon)
    }
}

impl<B: BatchNormKernels, C: CheckpointStrategy> BatchNormOps for Autodiff<B, C> {
    fn batch_norm_nchw_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        #[derive(Debug)]
        struct BatchNormBackward;

        impl<B: BatchNormKernels> Backward<B, 3> for BatchNormBackward {
            /// x, gamma, mean, variance, epsilon.
            type State = (
                FloatTensor<B>,
                FloatTensor<B>,
                FloatTensor<B>,
                FloatTensor<B>,
                f64,
            );

            fn backward(
                self,
                ops: Ops<Self::State, 3>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let [node_x, node_gamma, node_beta] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                let (x, gamma, mean, variance, epsilon) = ops.state;
                let (dx, dgamma, dbeta) =
                    B::batch_norm_nchw_backward(x, gamma, mean, variance, epsilon, grad);
                if let Some(node) = node_x {
                    grads.register::<B>(node.id, dx);
                }
                if let Some(node) = node_gamma {
                    grads.register::<B>(node.id, dgamma);
                }
                if let Some(node) = node_beta {
                    grads.register::<B>(node.id, dbeta);
                }
            }
        }

        let parents = [x.node(), gamma.node(), beta.node()];
        let (x, gamma, beta) = (
            x.into_primitive(),
            gamma.into_primitive(),
            beta.into_primitive(),
        );
        let (y, mean, var) = B::batch_norm_nchw_forward(x.clone(), gamma.clone(), beta, epsilon);
        let y = match BatchNormBackward
            .prepare::<C>(parents)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                prep.finish((x, gamma, mean.clone(), var.clone(), epsilon), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(y),
        };
        (y, Self::from_inner(mean), Self::from_inner(var))
    }
}

impl BatchNormKernels for Flex {
    fn batch_norm_nchw_forward(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        epsilon: f64,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let p = Planes::of(&x);
        let op = "batch_norm_nchw";
        let (x, gamma, beta) = (f32s(&x, op), f32s(&gamma, op), f32s(&beta, op));
        let stats: Vec<(f32, f32)> = (0..p.c)
            .into_par_iter()
            .map(|ch| {
                let xs = |plane: Range<usize>| &x[plane];
                let mean =
                    p.sum(ch, |r| lane_sum(xs(r.clone()), xs(r), |v, _| v)) / p.per_channel();
                let m = mean as f32;
                let var = p.sum(ch, |r| {
                    lane_sum(xs(r.clone()), xs(r), |v, _| (v - m) * (v - m))
                }) / p.per_channel();
                (m, var as f32)
            })
            .collect();
        // y = x · scale + shift per channel.
        let affine: Vec<(f32, f32)> = stats
            .iter()
            .zip(gamma.iter().zip(beta.iter()))
            .map(|(&(m, v), (&g, &b))| {
                let scale = g / (v + epsilon as f32).sqrt();
                (scale, b - m * scale)
            })
            .collect();
        let mut y = unwritten(x.len());
        y.par_chunks_mut(p.hw).enumerate().for_each(|(plane, y)| {
            let (scale, shift) = affine[plane % p.c];
            for (o, v) in y.iter_mut().zip(&x[plane * p.hw..][..p.hw]) {
                *o = v * scale + shift;
            }
        });
        let (mean, var): (Vec<f32>, Vec<f32>) = stats.into_iter().unzip();
        (
            tensor(y, p.shape.clone()),
            tensor(mean, [p.c]),
            tensor(var, [p.c]),
        )
    }

    fn batch_norm_nchw_backward(
        x: FlexTensor,
        gamma: FlexTensor,
        mean: FlexTensor,
        variance: FlexTensor,
        epsilon: f64,
        grad_out: FlexTensor,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let p = Planes::of(&x);
        let op = "batch_norm_nchw backward";
        let (x, gamma, dy) = (f32s(&x, op), f32s(&gamma, op), f32s(&grad_out, op));
        let (mean, variance) = (f32s(&mean, op), f32s(&variance, op));
        let inv_std: Vec<f32> = variance
            .iter()
            .map(|v| 1.0 / (v + epsilon as f32).sqrt())
            .collect();
        // Per channel: Σ dy (dL/dbeta) and Σ dy · x̂ (dL/dgamma).
        let sums: Vec<(f32, f32)> = (0..p.c)
            .into_par_iter()
            .map(|ch| {
                let (m, s) = (mean[ch], inv_std[ch]);
                let dbeta = p.sum(ch, |r| lane_sum(&dy[r.clone()], &dy[r], |g, _| g));
                let dgamma = p.sum(ch, |r| {
                    lane_sum(&dy[r.clone()], &x[r], |g, v| g * ((v - m) * s))
                });
                (dgamma as f32, dbeta as f32)
            })
            .collect();
        let count = p.per_channel() as f32;
        let mut dx = unwritten(x.len());
        dx.par_chunks_mut(p.hw).enumerate().for_each(|(plane, dx)| {
            let ch = plane % p.c;
            let (m, s) = (mean[ch], inv_std[ch]);
            let (dgamma, dbeta) = sums[ch];
            let (mean_dy, mean_dy_xhat) = (dbeta / count, dgamma / count);
            let scale = gamma[ch] * s;
            let range = plane * p.hw..(plane + 1) * p.hw;
            for ((d, g), v) in dx.iter_mut().zip(&dy[range.clone()]).zip(&x[range]) {
                let xhat = (v - m) * s;
                *d = scale * (g - mean_dy - xhat * mean_dy_xhat);
            }
        });
        let (dgamma, dbeta): (Vec<f32>, Vec<f32>) = sums.into_iter().unzip();
        (
            tensor(dx, p.shape.clone()),
            tensor(dgamma, [p.c]),
            tensor(dbeta, [p.c]),
        )
    }
}

/// The `N · C` planes of an `[N, C, H, W]` tensor, `hw` values each.
struct Planes {
    shape: Shape,
    n: usize,
    c: usize,
    hw: usize,
}

impl Planes {
    fn of(x: &FlexTensor) -> Self {
        let shape = x.layout().shape().clone();
        assert_eq!(shape.num_dims(), 4, "batch_norm_nchw: a 4-d input");
        let (n, c) = (shape[0], shape[1]);
        let hw = shape[2] * shape[3];
        Self { shape, n, c, hw }
    }

    fn per_channel(&self) -> f64 {
        (self.n * self.hw) as f64
    }

    /// `Σ_n f(plane (n, ch))`, in image order, in f64.
    fn sum(&self, ch: usize, f: impl Fn(Range<usize>) -> f32) -> f64 {
        (0..self.n)
            .map(|n| {
                let start = (n * self.c + ch) * self.hw;
                f(start..start + self.hw) as f64
            })
            .sum()
    }
}
