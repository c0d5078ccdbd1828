//! Depthwise 3x3 convolutions (one filter per channel, padding 1, stride 1 or 2) as this
//! project's own burn-flex op, forward and backward.
//!
//! burn 0.22 runs a grouped conv's weight gradient as a full-map convolution per channel and
//! transposes activations on the way (about 2.4x PyTorch's time for MobileNetV2's depthwise
//! layers, docs/benchmarks.md). Here each `(image, channel)` plane is one small loop nest over
//! the NCHW layout: the forward and the input gradient are 9 shifted row `axpy`s per plane, the
//! weight gradient 9 dot products per plane. Work is split over planes (forward, input
//! gradient) or channels (weight gradient, summed over images in image order inside one task),
//! so no sum depends on how many threads run it: results are bit-identical at any thread count.
//!
//! The op is a burn backend extension ([`DepthwiseOps`]) for `Flex` and `Autodiff<Flex>`; the
//! autodiff implementation registers the handwritten backward. Other backends (wgpu, cuda) keep
//! burn's own conv: [`super::fast_conv`] routes here only for f32 tensors on a flex device.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Backend, Flex, backend_extension, tensor::FloatTensor};
use burn::prelude::*;
use rayon::prelude::*;

use super::flex_data::{f32s, tensor};

/// The depthwise op as a backend extension: `x` `[N, C, H, W]` convolved with `weight`
/// `[C, 1, 3, 3]`, padding 1, the given stride; no bias (see [`depthwise3x3`]).
#[backend_extension(Flex, Autodiff)]
pub trait DepthwiseOps: Backend {
    fn depthwise3x3(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        stride: usize,
    ) -> FloatTensor<Self>;
}

/// The kernels behind [`DepthwiseOps`] on a concrete (non-autodiff) backend: the autodiff
/// implementation's backward calls them.
pub trait DepthwiseKernels: Backend {
    fn depthwise3x3_forward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        stride: usize,
    ) -> FloatTensor<Self>;
    /// `(dL/dx, dL/dweight)` given `dL/dy`, each only where asked for.
    fn depthwise3x3_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad_out: FloatTensor<Self>,
        stride: usize,
        wanted: [bool; 2],
    ) -> (Option<FloatTensor<Self>>, Option<FloatTensor<Self>>);
}

/// `x` convolved channel by channel with a `[C, 1, 3, 3]` `weight` (plus `bias`), padding 1.
///
/// # Shapes
/// - `x`: `[batch, channels, height, width]`
/// - `weight`: `[channels, 1, 3, 3]`
/// - `bias`: `[channels]`
/// - returns `[batch, channels, (height - 1) / stride + 1, (width - 1) / stride + 1]`
pub fn depthwise3x3(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    stride: usize,
) -> Tensor<4> {
    let [_, channels, _, _] = x.dims();
    assert_eq!(
        weight.dims(),
        [channels, 1, 3, 3],
        "depthwise3x3: weight {:?} does not fit input {:?}",
        weight.dims(),
        x.dims()
    );
    assert!(stride == 1 || stride == 2, "depthwise3x3: stride {stride}");
    let y = Tensor::<4>::from_dispatch(<burn::backend::Dispatch as DepthwiseOps>::depthwise3x3(
        x.into_dispatch(),
        weight.into_dispatch(),
        stride,
    ));
    match bias {
        Some(b) => y + b.reshape([1, channels, 1, 1]),
        None => y,
    }
}

impl DepthwiseOps for Flex {
    fn depthwise3x3(x: FlexTensor, weight: FlexTensor, stride: usize) -> FlexTensor {
        Flex::depthwise3x3_forward(x, weight, stride)
    }
}

impl<B: DepthwiseKernels, C: CheckpointStrategy> DepthwiseOps for Autodiff<B, C> {
    fn depthwise3x3(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        stride: usize,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct Depthwise3x3Backward;

        impl<B: DepthwiseKernels> Backward<B, 2> for Depthwise3x3Backward {
            type State = (FloatTensor<B>, FloatTensor<B>, usize);

            fn backward(
                self,
                ops: Ops<Self::State, 2>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let (x, weight, stride) = ops.state;
                let [node_x, node_w] = ops.parents;
                let grad_out = grads.consume::<B>(&ops.node);
                let wanted = [node_x.is_some(), node_w.is_some()];
                let (dx, dw) = B::depthwise3x3_backward(x, weight, grad_out, stride, wanted);
                if let (Some(node), Some(dx)) = (node_x, dx) {
                    grads.register::<B>(node.id, dx);
                }
                if let (Some(node), Some(dw)) = (node_w, dw) {
                    grads.register::<B>(node.id, dw);
                }
            }
        }

        let parents = [x.node(), weight.node()];
        let (x, weight) = (x.into_primitive(), weight.into_primitive());
        let y = B::depthwise3x3_forward(x.clone(), weight.clone(), stride);
        match Depthwise3x3Backward
            .prepare::<C>(parents)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish((x, weight, stride), y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }
}

impl DepthwiseKernels for Flex {
    fn depthwise3x3_forward(x: FlexTensor, weight: FlexTensor, stride: usize) -> FlexTensor {
        let g = Geometry::of(&x, stride);
        let op = "depthwise3x3";
        let (x, w) = (f32s(&x, op), f32s(&weight, op));
        let (in_plane, out_plane) = (g.h * g.w, g.ho * g.wo);
        let mut y = vec![0f32; g.n * g.c * out_plane];
        y.par_chunks_mut(out_plane).enumerate().for_each_init(
            || (Vec::new(), Vec::new()),
            |(padded, grid), (plane, out)| {
                let ch = plane % g.c;
                pad(&x[plane * in_plane..][..in_plane], g.h, g.w, padded);
                g.forward(padded, taps(&w, ch), grid, out);
            },
        );
        tensor(y, [g.n, g.c, g.ho, g.wo])
    }

    fn depthwise3x3_backward(
        x: FlexTensor,
        weight: FlexTensor,
        grad_out: FlexTensor,
        stride: usize,
        [want_dx, want_dw]: [bool; 2],
    ) -> (Option<FlexTensor>, Option<FlexTensor>) {
        let g = Geometry::of(&x, stride);
        let op = "depthwise3x3 backward";
        let (x, w, dy) = (f32s(&x, op), f32s(&weight, op), f32s(&grad_out, op));
        let (in_plane, out_plane) = (g.h * g.w, g.ho * g.wo);
        assert_eq!(dy.len(), g.n * g.c * out_plane, "depthwise3x3: grad_out");

        let dx = want_dx.then(|| {
            let mut dx = vec![0f32; g.n * g.c * in_plane];
            dx.par_chunks_mut(in_plane).enumerate().for_each_init(
                || (Vec::new(), Vec::new()),
                |(scratch, grid), (plane, dx)| {
                    let ch = plane % g.c;
                    let dy = &dy[plane * out_plane..][..out_plane];
                    g.input_grad(dy, taps(&w, ch), scratch, grid, dx);
                },
            );
            tensor(dx, [g.n, g.c, g.h, g.w])
        });

        let dw = want_dw.then(|| {
            let mut dw = vec![0f32; g.c * 9];
            dw.par_chunks_mut(9).enumerate().for_each_init(
                || (Vec::new(), Vec::new(), Vec::new()),
                |(padded, grid, sums), (ch, dw)| {
                    // Per-tap running sums over every image's outputs, in image order inside
                    // one task: the same bits at any thread count.
                    let row = g.weight_grad_row();
                    sums.clear();
                    sums.resize(9 * row, 0f32);
                    for n in 0..g.n {
                        let plane = n * g.c + ch;
                        pad(&x[plane * in_plane..][..in_plane], g.h, g.w, padded);
                        let dy = &dy[plane * out_plane..][..out_plane];
                        g.weight_grad(padded, dy, grid, sums);
                    }
                    for (dw, tap) in dw.iter_mut().zip(sums.chunks_exact(row)) {
                        *dw = tap.iter().sum();
                    }
                },
            );
            tensor(dw, [g.c, 1, 3, 3])
        });
        (dx, dw)
    }
}

/// Channel `ch`'s 9 weights, row-major.
fn taps(w: &[f32], ch: usize) -> &[f32; 9] {
    w[ch * 9..][..9].try_into().expect("9 taps")
}

/// Sizes of one depthwise 3x3 conv with padding 1.
struct Geometry {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    ho: usize,
    wo: usize,
    stride: usize,
}

impl Geometry {
    fn of(x: &FlexTensor, stride: usize) -> Self {
        let dims = x.layout().shape();
        assert_eq!(dims.num_dims(), 4, "depthwise3x3: a 4-d input");
        let (n, c, h, w) = (dims[0], dims[1], dims[2], dims[3]);
        Self {
            n,
            c,
            h,
            w,
            ho: (h - 1) / stride + 1,
            wo: (w - 1) / stride + 1,
            stride,
        }
    }

    /// The forward conv of one padded plane (see [`pad`]).
    fn forward(&self, padded: &[f32], k: &[f32; 9], grid: &mut Vec<f32>, out: &mut [f32]) {
        correlate(padded, self.w + 2, k, self.stride, grid, out, self.wo);
    }

    /// `dL/dx` of one plane from its `dL/dy`. At stride 1 that is `dL/dy`, padded, correlated
    /// with the flipped kernel; at stride 2 each output's gradient is scattered to its 9
    /// inputs, row by row in a fixed order.
    fn input_grad(
        &self,
        dy: &[f32],
        k: &[f32; 9],
        scratch: &mut Vec<f32>,
        grid: &mut Vec<f32>,
        dx: &mut [f32],
    ) {
        if self.stride == 1 {
            pad(dy, self.ho, self.wo, scratch);
            let mut flipped = *k;
            flipped.reverse();
            correlate(scratch, self.wo + 2, &flipped, 1, grid, dx, self.w);
            return;
        }
        let (s, pw) = (self.stride, self.w + 2);
        scratch.clear();
        scratch.resize((self.h + 2) * pw, 0.0);
        for (oy, grad) in dy.chunks_exact(self.wo).enumerate() {
            for ky in 0..3 {
                let row = &mut scratch[(oy * s + ky) * pw..][..pw];
                let (k0, k1, k2) = (k[ky * 3], k[ky * 3 + 1], k[ky * 3 + 2]);
                for (ox, &g) in grad.iter().enumerate() {
                    let c = ox * s;
                    row[c] += k0 * g;
                    row[c + 1] += k1 * g;
                    row[c + 2] += k2 * g;
                }
            }
        }
        for (r, row) in dx.chunks_exact_mut(self.w).enumerate() {
            row.copy_from_slice(&scratch[(r + 1) * pw + 1..][..self.w]);
        }
    }

    /// The length of [`Geometry::weight_grad`]'s per-tap rows of sums.
    fn weight_grad_row(&self) -> usize {
        if self.stride == 1 {
            // The last row needs only its first `wo` values; the taps then stay inside the
            // padded plane.
            (self.ho - 1) * (self.w + 2) + self.wo
        } else {
            self.wo
        }
    }

    /// Adds one plane's `dy[oy][ox] · p[oy·s + ky][ox·s + kx]` to `sums[tap]` (9 rows of
    /// [`Geometry::weight_grad_row`]): elementwise, so it vectorizes; the caller sums each
    /// tap's row at the end. At stride 1 the rows run over the whole plane: `dy` is laid out
    /// on the padded plane's row width (`grid`, zeros past each row's end), so each tap is one
    /// product of two long contiguous runs, about `ho · (w + 2)` long, even for a 4x4 map. At
    /// stride 2 they run over `ox`, summed over `oy`.
    fn weight_grad(&self, padded: &[f32], dy: &[f32], grid: &mut Vec<f32>, sums: &mut [f32]) {
        let (s, pw, wo) = (self.stride, self.w + 2, self.wo);
        if s == 1 {
            let len = self.weight_grad_row();
            grid.clear();
            grid.resize(self.ho * pw, 0.0);
            for (row, dy) in grid.chunks_exact_mut(pw).zip(dy.chunks_exact(wo)) {
                row[..wo].copy_from_slice(dy);
            }
            for (tap, acc) in sums.chunks_exact_mut(len).enumerate() {
                let shifted = &padded[(tap / 3) * pw + tap % 3..][..len];
                for ((a, g), v) in acc.iter_mut().zip(&grid[..len]).zip(shifted) {
                    *a += g * v;
                }
            }
            return;
        }
        for (oy, grad) in dy.chunks_exact(wo).enumerate() {
            for (tap, acc) in sums.chunks_exact_mut(wo).enumerate() {
                let (ky, kx) = (tap / 3, tap % 3);
                let row = &padded[(oy * s + ky) * pw + kx..];
                for (ox, (a, g)) in acc.iter_mut().zip(grad).enumerate() {
                    *a += g * row[ox * s];
                }
            }
        }
    }
}

/// `plane` (`rows` x `cols`) with a border of one zero on every side, into `padded`: the
/// taps then need no bounds logic.
fn pad(plane: &[f32], rows: usize, cols: usize, padded: &mut Vec<f32>) {
    let pw = cols + 2;
    padded.clear();
    padded.resize((rows + 2) * pw, 0.0);
    for (r, row) in plane.chunks_exact(cols).enumerate() {
        padded[(r + 1) * pw + 1..][..cols].copy_from_slice(row);
    }
}

/// `out[oy][ox] = Σ k[ky][kx] · p[oy·s + ky][ox·s + kx]`, `p` a padded plane with rows `pw`
/// wide, `out` rows `wo` wide. One fixed expression per output, so every run sums in the same
/// order. At stride 1 it is computed on the padded plane's grid (`grid`, rows `pw` wide,
/// the last two values of each row unused) and copied out: one loop over `ho · pw`
/// contiguous values that vectorizes however small the map (MobileNetV2's 7x7 and 4x4 maps
/// leave a per-row loop 7 or 4 wide).
fn correlate(
    p: &[f32],
    pw: usize,
    k: &[f32; 9],
    s: usize,
    grid: &mut Vec<f32>,
    out: &mut [f32],
    wo: usize,
) {
    if s == 1 {
        let ho = out.len() / wo;
        // The last row needs only its first `wo` values; the taps then stay inside `p`.
        let len = (ho - 1) * pw + wo;
        grid.clear();
        grid.resize(len, 0.0);
        let (a0, a1, a2) = (&p[..len], &p[1..len + 1], &p[2..len + 2]);
        let (b0, b1, b2) = (
            &p[pw..pw + len],
            &p[pw + 1..pw + len + 1],
            &p[pw + 2..pw + len + 2],
        );
        let r2 = 2 * pw;
        let (c0, c1, c2) = (
            &p[r2..r2 + len],
            &p[r2 + 1..r2 + len + 1],
            &p[r2 + 2..r2 + len + 2],
        );
        for (i, o) in grid.iter_mut().enumerate() {
            *o = (k[0] * a0[i] + k[1] * a1[i] + k[2] * a2[i])
                + (k[3] * b0[i] + k[4] * b1[i] + k[5] * b2[i])
                + (k[6] * c0[i] + k[7] * c1[i] + k[8] * c2[i]);
        }
        for (oy, out) in out.chunks_exact_mut(wo).enumerate() {
            out.copy_from_slice(&grid[oy * pw..][..wo]);
        }
        return;
    }
    for (oy, out) in out.chunks_exact_mut(wo).enumerate() {
        let r0 = &p[oy * s * pw..][..pw];
        let r1 = &p[(oy * s + 1) * pw..][..pw];
        let r2 = &p[(oy * s + 2) * pw..][..pw];
        for (i, o) in out.iter_mut().enumerate() {
            let c = i * s;
            *o = (k[0] * r0[c] + k[1] * r0[c + 1] + k[2] * r0[c + 2])
                + (k[3] * r1[c] + k[4] * r1[c + 1] + k[5] * r1[c + 2])
                + (k[6] * r2[c] + k[7] * r2[c + 1] + k[8] * r2[c + 2]);
        }
    }
}
