//! Dense convolutions (one group, any kernel, stride and padding, no dilation) as this
//! project's own burn-flex op: im2col and one gemm per chunk of images, forward and backward.
//!
//! burn 0.22's conv backward transposes activations and output gradients (a copy each), runs
//! the weight gradient as a convolution of the whole input map with the whole output-gradient
//! map, and the input gradient as a transposed convolution: ~2-8x PyTorch's time for the 1x1
//! and 5x5 convs of our models (docs/benchmarks.md). Here a chunk of `nc` images is unfolded
//! into `cols` `[C·kh·kw, nc·P]` (`P` output positions per image, the chunk's images side by
//! side), and then
//! - forward: `Y = W · cols`, `[O, nc·P]`, scattered back to NCHW;
//! - weight gradient: `dW += dY · colsᵀ`, with `dY` the chunk's output gradient gathered to
//!   `[O, nc·P]`;
//! - input gradient: `dcols = Wᵀ · dY`, folded back onto the input (col2im).
//!
//! Chunks are sized from the shapes alone (about [`TARGET_COLUMNS`] columns, so the small maps
//! of late layers still make one wide matmul), and chunks are grouped into at most
//! [`MAX_GROUPS`] groups, again from the shapes alone: groups run in parallel, each sums its
//! chunks' weight gradients in order, and the groups' sums are added in group order. No sum
//! depends on the thread count, so results are bit-identical at any `--threads`. (gemm may
//! split a product over threads too; it splits rows and columns of the output, never the
//! inner sum.)
//!
//! The op is a burn backend extension ([`GemmConvOps`]) for `Flex` and `Autodiff<Flex>`, like
//! [`super::depthwise`]; [`super::fast_conv`] routes here only for f32 tensors on a flex device.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Backend, Flex, backend_extension, tensor::FloatTensor};
use burn::prelude::*;
use rayon::prelude::*;

use super::flex_data::{f32s, tensor};

/// Columns of one chunk's matmul to aim for: wide enough for gemm's kernels to run at speed,
/// small enough that a chunk's unfolded input stays in cache.
const TARGET_COLUMNS: usize = 256;
/// Most groups of chunks a conv is split into (the parallel tasks, and the partial weight
/// gradients held at once).
const MAX_GROUPS: usize = 16;

/// The dense conv as a backend extension: `x` `[N, C, H, W]` convolved with `weight`
/// `[O, C, kh, kw]`, the given `stride` `[sh, sw]` and `padding` `[top, bottom, left, right]`;
/// no bias (see [`conv2d_gemm`]).
#[backend_extension(Flex, Autodiff)]
pub trait GemmConvOps: Backend {
    fn conv2d_gemm(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        stride: [usize; 2],
        padding: [usize; 4],
    ) -> FloatTensor<Self>;
}

/// The kernels behind [`GemmConvOps`] on a concrete (non-autodiff) backend: the autodiff
/// implementation's backward calls them.
pub trait GemmConvKernels: Backend {
    fn conv2d_gemm_forward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        stride: [usize; 2],
        padding: [usize; 4],
    ) -> FloatTensor<Self>;
    /// `(dL/dx, dL/dweight)` given `dL/dy`, each only where asked for.
    fn conv2d_gemm_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad_out: FloatTensor<Self>,
        stride: [usize; 2],
        padding: [usize; 4],
        wanted: [bool; 2],
    ) -> (Option<FloatTensor<Self>>, Option<FloatTensor<Self>>);
}

/// `x` convolved with `weight` (plus `bias`), one group, no dilation.
///
/// # Shapes
/// - `x`: `[batch, in_channels, height, width]`
/// - `weight`: `[out_channels, in_channels, kh, kw]`
/// - `bias`: `[out_channels]`
/// - `stride`: `[sh, sw]`; `padding`: `[top, bottom, left, right]`
/// - returns `[batch, out_channels, (height + top + bottom - kh) / sh + 1, ...]`
pub fn conv2d_gemm(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    stride: [usize; 2],
    padding: [usize; 4],
) -> Tensor<4> {
    let [_, channels, height, width] = x.dims();
    let [out_channels, in_channels, kh, kw] = weight.dims();
    assert_eq!(
        in_channels,
        channels,
        "conv2d_gemm: weight {:?} does not fit input {:?}",
        weight.dims(),
        x.dims()
    );
    assert!(
        stride[0] > 0
            && stride[1] > 0
            && height + padding[0] + padding[1] >= kh
            && width + padding[2] + padding[3] >= kw,
        "conv2d_gemm: kernel {kh}x{kw} larger than the padded input {:?}",
        x.dims()
    );
    let y = Tensor::<4>::from_dispatch(<burn::backend::Dispatch as GemmConvOps>::conv2d_gemm(
        x.into_dispatch(),
        weight.into_dispatch(),
        stride,
        padding,
    ));
    match bias {
        Some(b) => y + b.reshape([1, out_channels, 1, 1]),
        None => y,
    }
}

impl GemmConvOps for Flex {
    fn conv2d_gemm(
        x: FlexTensor,
        weight: FlexTensor,
        stride: [usize; 2],
        padding: [usize; 4],
    ) -> FlexTensor {
        Flex::conv2d_gemm_forward(x, weight, stride, padding)
    }
}

impl<B: GemmConvKernels, C: CheckpointStrategy> GemmConvOps for Autodiff<B, C> {
    fn conv2d_gemm(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        stride: [usize; 2],
        padding: [usize; 4],
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct Conv2dGemmBackward;

        impl<B: GemmConvKernels> Backward<B, 2> for Conv2dGemmBackward {
            type State = (FloatTensor<B>, FloatTensor<B>, [usize; 2], [usize; 4]);

            fn backward(
                self,
                ops: Ops<Self::State, 2>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let (x, weight, stride, padding) = ops.state;
                let [node_x, node_w] = ops.parents;
                let grad_out = grads.consume::<B>(&ops.node);
                let wanted = [node_x.is_some(), node_w.is_some()];
                let (dx, dw) =
                    B::conv2d_gemm_backward(x, weight, grad_out, stride, padding, wanted);
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
        let y = B::conv2d_gemm_forward(x.clone(), weight.clone(), stride, padding);
        match Conv2dGemmBackward
            .prepare::<C>(parents)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish((x, weight, stride, padding), y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }
}

impl GemmConvKernels for Flex {
    fn conv2d_gemm_forward(
        x: FlexTensor,
        weight: FlexTensor,
        stride: [usize; 2],
        padding: [usize; 4],
    ) -> FlexTensor {
        let g = Geometry::of(&x, &weight, stride, padding);
        let op = "conv2d_gemm";
        let (x, w) = (f32s(&x, op), f32s(&weight, op));
        let plan = g.plan();
        let mut y = vec![0f32; g.n * g.o * g.positions()];
        let parallelism = plan.gemm_parallelism();
        plan.split_images(&mut y, g.o * g.positions())
            .into_par_iter()
            .for_each_init(Scratch::default, |s, (images, y)| {
                for chunk in plan.chunks(images.clone()) {
                    let cols = g.columns(chunk.len());
                    let first = (chunk.start - images.start) * g.o * g.positions();
                    let unfolded = g.unfold(&x, chunk.clone(), &mut s.cols);
                    // A chunk of one image writes its NCHW output in place.
                    let (out, scatter) = if chunk.len() == 1 {
                        (&mut y[first..][..g.o * cols], false)
                    } else {
                        s.rows.resize(g.o * cols, 0.0);
                        (&mut s.rows[..], true)
                    };
                    // out [O, cols] = W [O, K] · cols [K, cols]
                    matmul(
                        Matrix::new(out, cols, 1),
                        (g.o, cols, g.k()),
                        Operand::row_major(&w, g.k()),
                        Operand::row_major(unfolded, cols),
                        false,
                        parallelism,
                    );
                    if scatter {
                        g.scatter_rows(&s.rows, chunk.len(), &mut y[first..]);
                    }
                }
            });
        tensor(y, [g.n, g.o, g.ho, g.wo])
    }

    fn conv2d_gemm_backward(
        x: FlexTensor,
        weight: FlexTensor,
        grad_out: FlexTensor,
        stride: [usize; 2],
        padding: [usize; 4],
        [want_dx, want_dw]: [bool; 2],
    ) -> (Option<FlexTensor>, Option<FlexTensor>) {
        let g = Geometry::of(&x, &weight, stride, padding);
        let op = "conv2d_gemm backward";
        let (x, w, dy) = (f32s(&x, op), f32s(&weight, op), f32s(&grad_out, op));
        assert_eq!(dy.len(), g.n * g.o * g.positions(), "conv2d_gemm: grad_out");
        let plan = g.plan();
        let parallelism = plan.gemm_parallelism();
        let in_image = g.c * g.h * g.w;
        let mut dx = vec![0f32; if want_dx { g.n * in_image } else { 0 }];
        let dx_parts = if want_dx {
            plan.split_images(&mut dx, in_image)
        } else {
            plan.groups().map(|images| (images, &mut [][..])).collect()
        };
        let partial_dw: Vec<Vec<f32>> = dx_parts
            .into_par_iter()
            .map_init(Scratch::default, |s, (images, dx)| {
                let mut dw = vec![0f32; if want_dw { g.o * g.k() } else { 0 }];
                for (i, chunk) in plan.chunks(images.clone()).enumerate() {
                    let cols = g.columns(chunk.len());
                    let first = chunk.start - images.start;
                    // A chunk of one image reads its NCHW output gradient in place.
                    let rows = if chunk.len() == 1 {
                        &dy[chunk.start * g.o * cols..][..g.o * cols]
                    } else {
                        g.gather_rows(&dy, chunk.clone(), &mut s.rows);
                        &s.rows[..]
                    };
                    if want_dw {
                        let unfolded = g.unfold(&x, chunk.clone(), &mut s.cols);
                        // dW [O, K] (+)= dY [O, cols] · colsᵀ [cols, K]
                        matmul(
                            Matrix::new(&mut dw, g.k(), 1),
                            (g.o, g.k(), cols),
                            Operand::row_major(rows, cols),
                            Operand::column_major(unfolded, cols),
                            i > 0,
                            parallelism,
                        );
                    }
                    if want_dx {
                        // A 1x1 conv's unfolded input of one image is the image itself: its
                        // gradient is written in place.
                        let in_place = g.is_pointwise() && chunk.len() == 1;
                        let dcols = if in_place {
                            &mut dx[first * in_image..][..in_image]
                        } else {
                            s.cols.resize(g.k() * cols, 0.0);
                            &mut s.cols[..]
                        };
                        // dcols [K, cols] = Wᵀ [K, O] · dY [O, cols]
                        matmul(
                            Matrix::new(dcols, cols, 1),
                            (g.k(), cols, g.o),
                            Operand::column_major(&w, g.k()),
                            Operand::row_major(rows, cols),
                            false,
                            parallelism,
                        );
                        if !in_place {
                            g.col2im(&s.cols, chunk.len(), &mut dx[first * in_image..]);
                        }
                    }
                }
                dw
            })
            .collect();

        let dx = want_dx.then(|| tensor(dx, [g.n, g.c, g.h, g.w]));
        let dw = want_dw.then(|| {
            let mut parts = partial_dw.into_iter();
            let mut dw = parts.next().expect("at least one group");
            for part in parts {
                for (a, b) in dw.iter_mut().zip(&part) {
                    *a += b;
                }
            }
            tensor(dw, [g.o, g.c, g.kh, g.kw])
        });
        (dx, dw)
    }
}

/// Buffers a task reuses from chunk to chunk.
#[derive(Default)]
struct Scratch {
    /// The unfolded input `[K, cols]` (or its gradient).
    cols: Vec<f32>,
    /// The output or its gradient as `[O, cols]`.
    rows: Vec<f32>,
}

/// Sizes of one conv.
#[derive(Debug, Clone, Copy)]
struct Geometry {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    o: usize,
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
    top: usize,
    left: usize,
    ho: usize,
    wo: usize,
}

impl Geometry {
    fn of(x: &FlexTensor, weight: &FlexTensor, stride: [usize; 2], padding: [usize; 4]) -> Self {
        let (xs, ws) = (x.layout().shape(), weight.layout().shape());
        assert!(
            xs.num_dims() == 4 && ws.num_dims() == 4 && xs[1] == ws[1],
            "conv2d_gemm: input {xs:?}, weight {ws:?}"
        );
        let [top, bottom, left, right] = padding;
        let (h, w, kh, kw) = (xs[2], xs[3], ws[2], ws[3]);
        Self {
            n: xs[0],
            c: xs[1],
            h,
            w,
            o: ws[0],
            kh,
            kw,
            sh: stride[0],
            sw: stride[1],
            top,
            left,
            ho: (h + top + bottom - kh) / stride[0] + 1,
            wo: (w + left + right - kw) / stride[1] + 1,
        }
    }

    /// Output positions per image.
    fn positions(&self) -> usize {
        self.ho * self.wo
    }

    /// Rows of the unfolded input: one per input channel and kernel tap.
    fn k(&self) -> usize {
        self.c * self.kh * self.kw
    }

    /// Columns of a chunk of `images` images.
    fn columns(&self, images: usize) -> usize {
        images * self.positions()
    }

    fn plan(&self) -> Plan {
        let chunk = TARGET_COLUMNS
            .div_ceil(self.positions())
            .clamp(1, self.n.max(1));
        let chunks = self.n.div_ceil(chunk);
        Plan {
            n: self.n,
            chunk,
            chunks,
            groups: chunks.clamp(1, MAX_GROUPS),
        }
    }

    /// The valid output columns `lo..hi` of kernel column `kx`: those whose input column
    /// `ox·sw + kx - left` lies inside the image.
    fn valid_columns(&self, kx: usize) -> (usize, usize) {
        let lo = self.left.saturating_sub(kx).div_ceil(self.sw).min(self.wo);
        let hi = if self.w + self.left > kx {
            (self.w + self.left - kx).div_ceil(self.sw).min(self.wo)
        } else {
            0
        };
        (lo, hi.max(lo))
    }

    /// The input row of output row `oy` under kernel row `ky`, if inside the image.
    fn input_row(&self, oy: usize, ky: usize) -> Option<usize> {
        (oy * self.sh + ky)
            .checked_sub(self.top)
            .filter(|&iy| iy < self.h)
    }

    /// 1x1, stride 1, no padding: the unfolded input of one image is the image.
    fn is_pointwise(&self) -> bool {
        self.kh == 1
            && self.kw == 1
            && self.sh == 1
            && self.sw == 1
            && self.top == 0
            && self.left == 0
            && (self.ho, self.wo) == (self.h, self.w)
    }

    /// `x`'s images `chunk` unfolded as [`Geometry::im2col`] does: in place for one image
    /// of a 1x1 conv, else into `cols`.
    fn unfold<'a>(
        &self,
        x: &'a [f32],
        chunk: std::ops::Range<usize>,
        cols: &'a mut Vec<f32>,
    ) -> &'a [f32] {
        if self.is_pointwise() && chunk.len() == 1 {
            let image = self.c * self.h * self.w;
            &x[chunk.start * image..][..image]
        } else {
            self.im2col(x, chunk, cols);
            cols
        }
    }

    /// `x`'s images `chunk` unfolded into `cols` `[K, cols]`: row `(c, ky, kx)`, column
    /// `(image, oy, ox)` holds `x[image][c][oy·sh + ky - top][ox·sw + kx - left]`, zero in the
    /// padding.
    fn im2col(&self, x: &[f32], chunk: std::ops::Range<usize>, cols: &mut Vec<f32>) {
        let (p, plane) = (self.positions(), self.h * self.w);
        let width = self.columns(chunk.len());
        cols.resize(self.k() * width, 0.0);
        for (row, dst) in cols.chunks_exact_mut(width).enumerate() {
            let (c, ky, kx) = (
                row / (self.kh * self.kw),
                row / self.kw % self.kh,
                row % self.kw,
            );
            let (lo, hi) = self.valid_columns(kx);
            for (image, out) in chunk.clone().zip(dst.chunks_exact_mut(p)) {
                let src = &x[(image * self.c + c) * plane..][..plane];
                for (oy, out) in out.chunks_exact_mut(self.wo).enumerate() {
                    let Some(iy) = self.input_row(oy, ky) else {
                        out.fill(0.0);
                        continue;
                    };
                    let src = &src[iy * self.w..][..self.w];
                    out[..lo].fill(0.0);
                    out[hi..].fill(0.0);
                    if lo == hi {
                        continue;
                    }
                    let first = lo * self.sw + kx - self.left;
                    if self.sw == 1 {
                        out[lo..hi].copy_from_slice(&src[first..first + hi - lo]);
                    } else {
                        for (o, s) in out[lo..hi]
                            .iter_mut()
                            .zip(src[first..].iter().step_by(self.sw))
                        {
                            *o = *s;
                        }
                    }
                }
            }
        }
    }

    /// Adds the unfolded gradient `cols` `[K, cols]` of a chunk of `images` images back onto
    /// their input positions in `dx` (the chunk's first image first), in a fixed order.
    fn col2im(&self, cols: &[f32], images: usize, dx: &mut [f32]) {
        let (p, plane) = (self.positions(), self.h * self.w);
        let width = self.columns(images);
        for (row, src) in cols.chunks_exact(width).enumerate().take(self.k()) {
            let (c, ky, kx) = (
                row / (self.kh * self.kw),
                row / self.kw % self.kh,
                row % self.kw,
            );
            let (lo, hi) = self.valid_columns(kx);
            for (image, src) in src.chunks_exact(p).enumerate() {
                let dst = &mut dx[(image * self.c + c) * plane..][..plane];
                for (oy, src) in src.chunks_exact(self.wo).enumerate() {
                    let Some(iy) = self.input_row(oy, ky).filter(|_| lo < hi) else {
                        continue;
                    };
                    let dst = &mut dst[iy * self.w..][..self.w];
                    let first = lo * self.sw + kx - self.left;
                    if self.sw == 1 {
                        for (d, s) in dst[first..first + hi - lo].iter_mut().zip(&src[lo..hi]) {
                            *d += s;
                        }
                    } else {
                        for (d, s) in dst[first..].iter_mut().step_by(self.sw).zip(&src[lo..hi]) {
                            *d += s;
                        }
                    }
                }
            }
        }
    }

    /// `rows` `[O, cols]` of a chunk of `images` images into their NCHW output `y` (the
    /// chunk's first image first).
    fn scatter_rows(&self, rows: &[f32], images: usize, y: &mut [f32]) {
        let (p, width) = (self.positions(), self.columns(images));
        for (o, row) in rows.chunks_exact(width).enumerate().take(self.o) {
            for (image, src) in row.chunks_exact(p).enumerate() {
                y[(image * self.o + o) * p..][..p].copy_from_slice(src);
            }
        }
    }

    /// The NCHW output gradient of images `chunk` as `rows` `[O, cols]`.
    fn gather_rows(&self, dy: &[f32], chunk: std::ops::Range<usize>, rows: &mut Vec<f32>) {
        let (p, width) = (self.positions(), self.columns(chunk.len()));
        rows.resize(self.o * width, 0.0);
        for (o, row) in rows.chunks_exact_mut(width).enumerate() {
            for (image, dst) in chunk.clone().zip(row.chunks_exact_mut(p)) {
                dst.copy_from_slice(&dy[(image * self.o + o) * p..][..p]);
            }
        }
    }
}

/// How a conv's images are cut: `chunks` chunks of `chunk` images (the last may be shorter),
/// in `groups` groups of consecutive chunks. Both depend on the shapes only.
struct Plan {
    n: usize,
    chunk: usize,
    chunks: usize,
    groups: usize,
}

impl Plan {
    /// The images of every group, in order.
    fn groups(&self) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
        (0..self.groups).map(|g| {
            let image = |chunk: usize| (chunk * self.chunk).min(self.n);
            image(g * self.chunks / self.groups)..image((g + 1) * self.chunks / self.groups)
        })
    }

    /// The chunks of a group's `images`.
    fn chunks(
        &self,
        images: std::ops::Range<usize>,
    ) -> impl Iterator<Item = std::ops::Range<usize>> {
        let chunk = self.chunk;
        images
            .clone()
            .step_by(chunk)
            .map(move |start| start..(start + chunk).min(images.end))
    }

    /// `values` (`per_image` values an image) cut into the groups' parts.
    fn split_images<'a>(
        &self,
        mut values: &'a mut [f32],
        per_image: usize,
    ) -> Vec<(std::ops::Range<usize>, &'a mut [f32])> {
        self.groups()
            .map(|images| {
                let (part, rest) =
                    std::mem::take(&mut values).split_at_mut(images.len() * per_image);
                values = rest;
                (images, part)
            })
            .collect()
    }

    /// Fewer groups than threads: let gemm spread each product over the threads instead.
    fn gemm_parallelism(&self) -> gemm::Parallelism {
        if self.groups < rayon::current_num_threads() {
            gemm::Parallelism::Rayon(0)
        } else {
            gemm::Parallelism::None
        }
    }
}

/// A row-major or column-major matrix operand of [`matmul`].
struct Operand<'a> {
    values: &'a [f32],
    row_stride: isize,
    col_stride: isize,
}

impl<'a> Operand<'a> {
    /// Rows of `stride` values.
    fn row_major(values: &'a [f32], stride: usize) -> Self {
        Self {
            values,
            row_stride: stride as isize,
            col_stride: 1,
        }
    }

    /// The transpose of a row-major matrix whose rows hold `stride` values.
    fn column_major(values: &'a [f32], stride: usize) -> Self {
        Self {
            values,
            row_stride: 1,
            col_stride: stride as isize,
        }
    }
}

/// The destination of [`matmul`].
struct Matrix<'a> {
    values: &'a mut [f32],
    row_stride: isize,
    col_stride: isize,
}

impl<'a> Matrix<'a> {
    fn new(values: &'a mut [f32], row_stride: usize, col_stride: usize) -> Self {
        Self {
            values,
            row_stride: row_stride as isize,
            col_stride: col_stride as isize,
        }
    }
}

/// `dst = lhs · rhs` (`m x k` times `k x n`), or `dst += lhs · rhs` with `accumulate`.
fn matmul(
    dst: Matrix,
    (m, n, k): (usize, usize, usize),
    lhs: Operand,
    rhs: Operand,
    accumulate: bool,
    parallelism: gemm::Parallelism,
) {
    let last = |rows: usize, cols: usize, rs: isize, cs: isize| {
        if rows == 0 || cols == 0 {
            0
        } else {
            (rows - 1) * rs as usize + (cols - 1) * cs as usize + 1
        }
    };
    // The bounds gemm will touch, checked once here: the call below is then sound.
    assert!(
        dst.values.len() >= last(m, n, dst.row_stride, dst.col_stride)
            && lhs.values.len() >= last(m, k, lhs.row_stride, lhs.col_stride)
            && rhs.values.len() >= last(k, n, rhs.row_stride, rhs.col_stride),
        "conv2d_gemm: a matmul operand is shorter than its shape"
    );
    // SAFETY: every index gemm reads or writes lies inside the slices (checked above), `dst`
    // is borrowed mutably and so overlaps neither operand.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.values.as_mut_ptr(),
            dst.col_stride,
            dst.row_stride,
            accumulate,
            lhs.values.as_ptr(),
            lhs.col_stride,
            lhs.row_stride,
            rhs.values.as_ptr(),
            rhs.col_stride,
            rhs.row_stride,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}
