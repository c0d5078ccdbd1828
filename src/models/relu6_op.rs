//! ReLU6, `min(max(x, 0), 6)`, as this project's own burn-flex op, forward and backward.
//!
//! burn's autodiff runs `relu(x).clamp_max(6)` as two ops forward and two masked passes
//! backward, each a pass over memory that allocates a tensor; MobileNetV2 applies it to
//! every expanded activation, and it took ~2.9x PyTorch's time (docs/benchmarks.md). Here the
//! forward is one pass, and the backward one pass over the saved output and the incoming
//! gradient: `dx = dy` where `0 < y < 6`, else 0 (PyTorch's `hardtanh_backward` rule).
//! Elementwise over fixed chunks, so thread counts change nothing.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Backend, Flex, backend_extension, tensor::FloatTensor};
use burn::prelude::*;
use rayon::prelude::*;

use super::flex_data::{f32s, tensor};

/// Elements per parallel task.
const CHUNK: usize = 1 << 14;

/// ReLU6 as a backend extension.
#[backend_extension(Flex, Autodiff)]
pub trait Relu6Ops: Backend {
    fn relu6(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// The kernels behind [`Relu6Ops`] on a concrete (non-autodiff) backend.
pub trait Relu6Kernels: Backend {
    fn relu6_forward(x: FloatTensor<Self>) -> FloatTensor<Self>;
    /// `dL/dx` from the op's output `y` and `dL/dy`.
    fn relu6_backward(y: FloatTensor<Self>, grad_out: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// `min(max(x, 0), 6)` elementwise.
pub fn relu6<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    Tensor::from_dispatch(<burn::backend::Dispatch as Relu6Ops>::relu6(
        x.into_dispatch(),
    ))
}

impl Relu6Ops for Flex {
    fn relu6(x: FlexTensor) -> FlexTensor {
        Flex::relu6_forward(x)
    }
}

impl<B: Relu6Kernels, C: CheckpointStrategy> Relu6Ops for Autodiff<B, C> {
    fn relu6(x: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct Relu6Backward;

        impl<B: Relu6Kernels> Backward<B, 1> for Relu6Backward {
            type State = FloatTensor<B>;

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let [node] = ops.parents;
                let grad_out = grads.consume::<B>(&ops.node);
                if let Some(node) = node {
                    grads.register::<B>(node.id, B::relu6_backward(ops.state, grad_out));
                }
            }
        }

        let parents = [x.node()];
        let y = B::relu6_forward(x.into_primitive());
        match Relu6Backward
            .prepare::<C>(parents)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish(y.clone(), y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }
}

impl Relu6Kernels for Flex {
    fn relu6_forward(x: FlexTensor) -> FlexTensor {
        let shape = x.layout().shape().clone();
        let x = f32s(&x, "relu6");
        let mut y = vec![0f32; x.len()];
        y.par_chunks_mut(CHUNK)
            .zip(x.par_chunks(CHUNK))
            .for_each(|(y, x)| {
                for (y, x) in y.iter_mut().zip(x) {
                    *y = x.clamp(0.0, 6.0);
                }
            });
        tensor(y, shape)
    }

    fn relu6_backward(y: FlexTensor, grad_out: FlexTensor) -> FlexTensor {
        let shape = y.layout().shape().clone();
        let (y, dy) = (
            f32s(&y, "relu6 backward"),
            f32s(&grad_out, "relu6 backward"),
        );
        assert_eq!(y.len(), dy.len(), "relu6 backward: gradient shape");
        let mut dx = vec![0f32; y.len()];
        dx.par_chunks_mut(CHUNK)
            .zip(y.par_chunks(CHUNK).zip(dy.par_chunks(CHUNK)))
            .for_each(|(dx, (y, dy))| {
                for ((dx, y), dy) in dx.iter_mut().zip(y).zip(dy) {
                    *dx = if *y > 0.0 && *y < 6.0 { *dy } else { 0.0 };
                }
            });
        tensor(dx, shape)
    }
}
