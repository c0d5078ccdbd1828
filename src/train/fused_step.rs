//! SGD and RMSProp steps as one pass over each parameter on burn-flex.
//!
//! burn's optimizers update a parameter with about a dozen tensor ops (weight decay, the
//! momentum or mean-square update, the division, the learning-rate product, the
//! subtraction), each a pass over memory with a fresh allocation and a dispatch; over
//! MobileNetV2's ~150 parameter tensors that made the optimizer step ~130 ms against
//! PyTorch's ~8 (issue 15's profile). [`FusedSgd`] and [`FusedRmsProp`] compute the same
//! formulas, in the same f32 operations in the same order, in one loop over each parameter:
//! the results are bit-identical to burn's optimizers (tests/fused_step.rs). Their states are
//! recorded under burn's names (`momentum.velocity`; `square_avg.square_avg`, `centered.avg`,
//! `momentum.buf`), so checkpoints written before resume. Tensors that are not f32 on a flex
//! device (wgpu, cuda) get the same formulas as tensor ops.

use burn::backend::flex::FlexTensor;
use burn::backend::{Backend, Flex, backend_extension, tensor::FloatTensor};
use burn::optim::{LearningRate, Optimizer, RecordState, StateSink, StateSource, join_path};
use burn::prelude::*;
use rayon::prelude::*;

use crate::models::fast_conv::on_flex_f32;
use crate::models::flex_data::{f32s, tensor, unwritten};

/// Elements per parallel task: small parameters run in one.
const CHUNK: usize = 1 << 15;

/// The fused steps as a backend extension (flex only: other backends take burn's step).
#[backend_extension(Flex)]
pub trait FusedStepOps: Backend {
    /// `(param', momentum')` for SGD, `rule` = `[lr, weight_decay, momentum, dampening,
    /// nesterov, has_state]` (flags as 0 or 1). Without a momentum state yet (`has_state` 0)
    /// the `momentum` tensor is not read: burn starts the velocity from the first gradient.
    fn sgd_step(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        momentum: FloatTensor<Self>,
        rule: [f32; 6],
    ) -> (FloatTensor<Self>, FloatTensor<Self>);
    /// `(param', square_avg', momentum')` for RMSProp, `rule` = `[lr, weight_decay,
    /// momentum, alpha, epsilon, has_state]`; without a state yet the mean square and the
    /// momentum start from the first gradient, as burn's do.
    fn rmsprop_step(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        square_avg: FloatTensor<Self>,
        momentum: FloatTensor<Self>,
        rule: [f32; 6],
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
    /// `(param', ms', mom')` for TensorFlow's RMSProp (src/train/rmsprop_tf.rs), `rule` =
    /// `[lr, weight_decay, momentum, rho, epsilon, has_state]`; without a state yet `ms`
    /// starts at ones and `mom` at zeros, and the tensors passed for them are not read.
    fn tf_rmsprop_step(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        ms: FloatTensor<Self>,
        mom: FloatTensor<Self>,
        rule: [f32; 6],
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

impl FusedStepOps for Flex {
    fn sgd_step(
        param: FlexTensor,
        grad: FlexTensor,
        momentum: FlexTensor,
        [lr, weight_decay, m, dampening, nesterov, has_state]: [f32; 6],
    ) -> (FlexTensor, FlexTensor) {
        let shape = param.layout().shape().clone();
        let op = "sgd step";
        let (p, g, v) = (f32s(&param, op), f32s(&grad, op), f32s(&momentum, op));
        assert!(p.len() == g.len() && p.len() == v.len(), "{op}: shapes");
        // Every element is written, the velocity too when there is momentum (else it is unused).
        let mut p2 = unwritten(p.len());
        let mut v2 = if m != 0.0 {
            unwritten(p.len())
        } else {
            vec![0f32; p.len()]
        };
        let (has_state, nesterov) = (has_state != 0.0, nesterov != 0.0);
        p2.par_chunks_mut(CHUNK)
            .zip(v2.par_chunks_mut(CHUNK))
            .enumerate()
            .for_each(|(c, (p2, v2))| {
                let at = c * CHUNK;
                let (p, g, v) = (
                    &p[at..][..p2.len()],
                    &g[at..][..p2.len()],
                    &v[at..][..p2.len()],
                );
                for i in 0..p2.len() {
                    // burn's Sgd::step: decay, momentum, then `p - d · lr`, op for op.
                    let g = if weight_decay != 0.0 {
                        p[i] * weight_decay + g[i]
                    } else {
                        g[i]
                    };
                    let d = if m != 0.0 {
                        let velocity = if has_state {
                            g * (1.0 - dampening) + v[i] * m
                        } else {
                            g
                        };
                        v2[i] = velocity;
                        if nesterov { velocity * m + g } else { velocity }
                    } else {
                        g
                    };
                    p2[i] = p[i] - d * lr;
                }
            });
        (tensor(p2, shape.clone()), tensor(v2, shape))
    }

    fn rmsprop_step(
        param: FlexTensor,
        grad: FlexTensor,
        square_avg: FlexTensor,
        momentum: FlexTensor,
        [lr, weight_decay, m, alpha, epsilon, has_state]: [f32; 6],
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let shape = param.layout().shape().clone();
        let op = "rmsprop step";
        let (p, g) = (f32s(&param, op), f32s(&grad, op));
        let (s, v) = (f32s(&square_avg, op), f32s(&momentum, op));
        assert!(
            p.len() == g.len() && p.len() == s.len() && p.len() == v.len(),
            "{op}: shapes"
        );
        let n = p.len();
        let (mut p2, mut s2) = (unwritten(n), unwritten(n));
        let mut v2 = if m > 0.0 { unwritten(n) } else { vec![0f32; n] };
        let has_state = has_state != 0.0;
        let keep = 1.0 - alpha;
        p2.par_chunks_mut(CHUNK)
            .zip(s2.par_chunks_mut(CHUNK).zip(v2.par_chunks_mut(CHUNK)))
            .enumerate()
            .for_each(|(c, (p2, (s2, v2)))| {
                let at = c * CHUNK;
                let len = p2.len();
                let (p, g) = (&p[at..][..len], &g[at..][..len]);
                let (s, v) = (&s[at..][..len], &v[at..][..len]);
                for i in 0..len {
                    // burn's RmsProp::step (not centered): decay, mean square, the division,
                    // momentum, then `p - d · lr`, op for op.
                    let g = if weight_decay != 0.0 {
                        p[i] * weight_decay + g[i]
                    } else {
                        g[i]
                    };
                    let square = if has_state {
                        s[i] * alpha + (g * g) * keep
                    } else {
                        (g * g) * keep
                    };
                    s2[i] = square;
                    let q = g / (square.sqrt() + epsilon);
                    let d = if m > 0.0 {
                        let buf = if has_state { v[i] * m + q } else { q };
                        v2[i] = buf;
                        buf
                    } else {
                        q
                    };
                    p2[i] = p[i] - d * lr;
                }
            });
        (
            tensor(p2, shape.clone()),
            tensor(s2, shape.clone()),
            tensor(v2, shape),
        )
    }

    fn tf_rmsprop_step(
        param: FlexTensor,
        grad: FlexTensor,
        ms: FlexTensor,
        mom: FlexTensor,
        [lr, weight_decay, m, rho, epsilon, has_state]: [f32; 6],
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let shape = param.layout().shape().clone();
        let op = "tensorflow rmsprop step";
        let (p, g) = (f32s(&param, op), f32s(&grad, op));
        let (s, v) = (f32s(&ms, op), f32s(&mom, op));
        assert!(
            p.len() == g.len() && p.len() == s.len() && p.len() == v.len(),
            "{op}: shapes"
        );
        let n = p.len();
        let (mut p2, mut s2, mut v2) = (unwritten(n), unwritten(n), unwritten(n));
        let has_state = has_state != 0.0;
        let keep = 1.0 - rho;
        p2.par_chunks_mut(CHUNK)
            .zip(s2.par_chunks_mut(CHUNK).zip(v2.par_chunks_mut(CHUNK)))
            .enumerate()
            .for_each(|(c, (p2, (s2, v2)))| {
                let at = c * CHUNK;
                let len = p2.len();
                let (p, g) = (&p[at..][..len], &g[at..][..len]);
                let (s, v) = (&s[at..][..len], &v[at..][..len]);
                for i in 0..len {
                    // TfRmsProp's tensor ops, op for op.
                    let g = if weight_decay != 0.0 {
                        p[i] * weight_decay + g[i]
                    } else {
                        g[i]
                    };
                    let old = if has_state { s[i] } else { 1.0 };
                    let square = old * rho + (g * g) * keep;
                    s2[i] = square;
                    let update = (g * lr) / (square + epsilon).sqrt();
                    let mom = if has_state && m > 0.0 {
                        v[i] * m + update
                    } else {
                        update
                    };
                    v2[i] = mom;
                    p2[i] = p[i] - mom;
                }
            });
        (
            tensor(p2, shape.clone()),
            tensor(s2, shape.clone()),
            tensor(v2, shape),
        )
    }
}

/// burn's SGD (`SgdConfig` with PyTorch's conventions, src/train/optimizer.rs), one pass per
/// parameter.
#[derive(Clone, Debug)]
pub struct FusedSgd {
    pub weight_decay: f32,
    /// `(momentum, dampening, nesterov)`, or none.
    pub momentum: Option<(f32, f32, bool)>,
}

/// SGD's state: the velocity, with momentum.
#[derive(Clone)]
pub struct SgdState<const D: usize> {
    pub velocity: Option<Tensor<D>>,
}

impl<const D: usize> RecordState for SgdState<D> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        if let Some(v) = &self.velocity {
            out.push_tensor(&join_path(prefix, "momentum"), "velocity", v.to_data());
        }
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        let path = join_path(prefix, "momentum");
        let velocity = if src.has_under(&path) {
            Some(Tensor::from_data(
                src.take_tensor(&path, "velocity")?,
                device,
            ))
        } else {
            None
        };
        Some(Self { velocity })
    }
}

impl Optimizer for FusedSgd {
    type State<const D: usize> = SgdState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let velocity = state.and_then(|s| s.velocity);
        let has_state = velocity.is_some();
        let (m, dampening, nesterov) = self.momentum.unwrap_or((0.0, 0.0, false));
        if !(on_flex_f32(&tensor) && on_flex_f32(&grad)) {
            // burn's Sgd::step.
            let g = match self.weight_decay {
                0.0 => grad,
                wd => tensor.clone().mul_scalar(wd).add(grad),
            };
            let (d, velocity) = match self.momentum {
                None => (g, None),
                Some(_) => {
                    let v = match velocity {
                        Some(v) => g.clone().mul_scalar(1.0 - dampening).add(v.mul_scalar(m)),
                        None => g.clone(),
                    };
                    let d = if nesterov {
                        v.clone().mul_scalar(m).add(g)
                    } else {
                        v.clone()
                    };
                    (d, Some(v))
                }
            };
            return (tensor - d.mul_scalar(lr), Some(SgdState { velocity }));
        }
        let rule = [
            lr as f32,
            self.weight_decay,
            m,
            dampening,
            f32::from(u8::from(nesterov)),
            f32::from(u8::from(has_state)),
        ];
        let velocity = velocity.unwrap_or_else(|| grad.clone());
        let (p, v) = <burn::backend::Dispatch as FusedStepOps>::sgd_step(
            tensor.into_dispatch(),
            grad.into_dispatch(),
            velocity.into_dispatch(),
            rule,
        );
        let velocity = self.momentum.map(|_| Tensor::from_dispatch(v));
        (Tensor::from_dispatch(p), Some(SgdState { velocity }))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        SgdState {
            velocity: state.velocity.map(|v| v.to_device(device)),
        }
    }
}

/// burn's RMSProp, not centered (`RmsPropConfig`, src/train/optimizer.rs), one pass per
/// parameter.
#[derive(Clone, Debug)]
pub struct FusedRmsProp {
    pub alpha: f32,
    pub epsilon: f32,
    pub momentum: f32,
    pub weight_decay: f32,
}

/// RMSProp's state: the running mean square and, with momentum, the momentum buffer.
#[derive(Clone)]
pub struct RmsPropState<const D: usize> {
    pub square_avg: Tensor<D>,
    pub buf: Option<Tensor<D>>,
}

impl<const D: usize> RecordState for RmsPropState<D> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        let data = self.square_avg.to_data();
        out.push_tensor(&join_path(prefix, "square_avg"), "square_avg", data.clone());
        // burn's non-centered state also records the mean square as `centered.avg`.
        out.push_tensor(&join_path(prefix, "centered"), "avg", data);
        if let Some(buf) = &self.buf {
            out.push_tensor(&join_path(prefix, "momentum"), "buf", buf.to_data());
        }
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        let square_avg = src.take_tensor(&join_path(prefix, "square_avg"), "square_avg")?;
        let _ = src.take_tensor(&join_path(prefix, "centered"), "avg");
        let path = join_path(prefix, "momentum");
        let buf = if src.has_under(&path) {
            Some(Tensor::from_data(src.take_tensor(&path, "buf")?, device))
        } else {
            None
        };
        Some(Self {
            square_avg: Tensor::from_data(square_avg, device),
            buf,
        })
    }
}

impl Optimizer for FusedRmsProp {
    type State<const D: usize> = RmsPropState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let has_state = state.is_some();
        let (square_avg, buf) = match state {
            Some(s) => (Some(s.square_avg), s.buf),
            None => (None, None),
        };
        if !(on_flex_f32(&tensor) && on_flex_f32(&grad)) {
            // burn's RmsProp::step, not centered.
            let g = match self.weight_decay {
                0.0 => grad,
                wd => tensor.clone().mul_scalar(wd).add(grad),
            };
            let fresh = g.clone().square().mul_scalar(1.0 - self.alpha);
            let square_avg = match square_avg {
                Some(s) => s.mul_scalar(self.alpha).add(fresh),
                None => fresh,
            };
            let q = g.div(square_avg.clone().sqrt().add_scalar(self.epsilon));
            let (d, buf) = if self.momentum > 0.0 {
                let b = match buf {
                    Some(b) => b.mul_scalar(self.momentum).add(q),
                    None => q,
                };
                (b.clone(), Some(b))
            } else {
                (q, None)
            };
            let state = RmsPropState { square_avg, buf };
            return (tensor - d.mul_scalar(lr), Some(state));
        }
        let rule = [
            lr as f32,
            self.weight_decay,
            self.momentum,
            self.alpha,
            self.epsilon,
            f32::from(u8::from(has_state)),
        ];
        let square_avg = square_avg.unwrap_or_else(|| grad.clone());
        let buf = buf.unwrap_or_else(|| grad.clone());
        let (p, s, v) = <burn::backend::Dispatch as FusedStepOps>::rmsprop_step(
            tensor.into_dispatch(),
            grad.into_dispatch(),
            square_avg.into_dispatch(),
            buf.into_dispatch(),
            rule,
        );
        let state = RmsPropState {
            square_avg: Tensor::from_dispatch(s),
            buf: (self.momentum > 0.0).then(|| Tensor::from_dispatch(v)),
        };
        (Tensor::from_dispatch(p), Some(state))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        RmsPropState {
            square_avg: state.square_avg.to_device(device),
            buf: state.buf.map(|b| b.to_device(device)),
        }
    }
}
