//! The project's fast conv ops against burn's own conv: forward output and every gradient
//! (input, weight, bias) on random shapes, strides and batch sizes (1 and odd included), to
//! 1e-4 relative; against finite differences; bit-identical at every thread count; and the
//! routing that sends a model's convs to them.

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2dConfig;
use burn::prelude::*;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use runner::models::depthwise::depthwise3x3;
use runner::models::fast_conv::{Route, route};
use runner::models::gemm_conv::conv2d_gemm;
use runner::models::pointwise::conv1x1;

/// Deterministic pseudo-random values in [-1, 1) (a 64-bit LCG's high bits).
fn random(shape: &[usize], seed: u64) -> Vec<f32> {
    let n: usize = shape.iter().product();
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

fn assert_close(what: &str, ours: &[f32], reference: &[f32]) {
    assert_eq!(ours.len(), reference.len(), "{what}");
    let scale = reference.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
    for (i, (a, b)) in ours.iter().zip(reference).enumerate() {
        assert!(
            (a - b).abs() <= 1e-4 * scale,
            "{what}[{i}]: ours {a}, burn {b} (scale {scale})"
        );
    }
}

#[test]
fn conv1x1_matches_burns_conv_forward_and_backward() {
    let device = Device::flex().autodiff();
    // (batch, in, out, height, width), with batch 1 and odd sizes.
    let shapes = [
        (1, 3, 5, 4, 4),
        (3, 8, 6, 5, 7),
        (2, 16, 24, 3, 3),
        (5, 1, 2, 1, 9),
        (7, 12, 20, 1, 1),
    ];
    for (k, &(n, c, o, h, w)) in shapes.iter().enumerate() {
        for with_bias in [false, true] {
            let seed = 10 * k as u64 + with_bias as u64;
            let make = |shape: &[usize], s: u64| TensorData::new(random(shape, s), shape.to_vec());
            let x_data = make(&[n, c, h, w], seed);
            let w_data = make(&[o, c, 1, 1], seed + 100);
            let b_data = make(&[o], seed + 200);
            let dy_data = make(&[n, o, h, w], seed + 300);

            let run = |fast: bool| {
                let x = Tensor::<4>::from_data(x_data.clone(), &device).require_grad();
                let wt = Tensor::<4>::from_data(w_data.clone(), &device).require_grad();
                let b = Tensor::<1>::from_data(b_data.clone(), &device).require_grad();
                let bias = with_bias.then(|| b.clone());
                let y = if fast {
                    conv1x1(x.clone(), wt.clone(), bias)
                } else {
                    conv2d(
                        x.clone(),
                        wt.clone(),
                        bias,
                        ConvOptions::new([1, 1], [0, 0], [1, 1], 1),
                    )
                };
                // A fixed upstream gradient: d(sum(y * dy))/dy = dy.
                let dy = Tensor::<4>::from_data(dy_data.clone(), &device);
                let grads = (y.clone() * dy).sum().backward();
                let g = |t: &Tensor<4>| values(t.grad(&grads).expect("a gradient"));
                let gb = with_bias.then(|| values(b.grad(&grads).expect("a bias gradient")));
                (values(y), g(&x), g(&wt), gb)
            };
            let (y, dx, dw, db) = run(true);
            let (ry, rdx, rdw, rdb) = run(false);
            let at = format!("shape {:?}, bias {with_bias}", shapes[k]);
            assert_close(&format!("output, {at}"), &y, &ry);
            assert_close(&format!("input gradient, {at}"), &dx, &rdx);
            assert_close(&format!("weight gradient, {at}"), &dw, &rdw);
            if let (Some(db), Some(rdb)) = (db, rdb) {
                assert_close(&format!("bias gradient, {at}"), &db, &rdb);
            }
        }
    }
}

/// One conv's output and gradients (input, weight, bias) for a fixed upstream gradient.
type Grads = (Vec<f32>, Vec<f32>, Vec<f32>, Option<Vec<f32>>);

/// (batch, channels, height, width, stride): batch 1 and odd sizes, even and odd sides, a
/// 1-pixel image, both strides.
const DEPTHWISE_SHAPES: [(usize, usize, usize, usize, usize); 8] = [
    (1, 3, 5, 5, 1),
    (3, 4, 6, 7, 1),
    (2, 5, 8, 8, 2),
    (5, 2, 7, 9, 2),
    (1, 1, 1, 1, 1),
    (2, 3, 1, 4, 2),
    (4, 16, 14, 14, 2),
    (3, 8, 3, 2, 1),
];

/// `conv(x, weight, bias)`'s output and gradients (input, weight, bias) on random tensors of
/// `x` and `weight`'s shapes, for a fixed random upstream gradient.
fn conv_grads(
    x: [usize; 4],
    weight: [usize; 4],
    with_bias: bool,
    seed: u64,
    conv: impl Fn(Tensor<4>, Tensor<4>, Option<Tensor<1>>) -> Tensor<4>,
) -> Grads {
    let device = Device::flex().autodiff();
    let make = |shape: &[usize], s: u64| TensorData::new(random(shape, s), shape.to_vec());
    let xt = Tensor::<4>::from_data(make(&x, seed), &device).require_grad();
    let wt = Tensor::<4>::from_data(make(&weight, seed + 100), &device).require_grad();
    let b = Tensor::<1>::from_data(make(&[weight[0]], seed + 200), &device).require_grad();
    let y = conv(xt.clone(), wt.clone(), with_bias.then(|| b.clone()));
    let dy = Tensor::<4>::from_data(make(&y.dims(), seed + 300), &device);
    let grads = (y.clone() * dy).sum().backward();
    let g = |t: &Tensor<4>| values(t.grad(&grads).expect("a gradient"));
    let gb = with_bias.then(|| values(b.grad(&grads).expect("a bias gradient")));
    (values(y), g(&xt), g(&wt), gb)
}

fn depthwise_grads(
    shape: (usize, usize, usize, usize, usize),
    with_bias: bool,
    seed: u64,
    fast: bool,
) -> Grads {
    let (n, c, h, w, stride) = shape;
    conv_grads(
        [n, c, h, w],
        [c, 1, 3, 3],
        with_bias,
        seed,
        |x, wt, bias| {
            let y = if fast {
                depthwise3x3(x, wt, bias, stride)
            } else {
                conv2d(
                    x,
                    wt,
                    bias,
                    ConvOptions::new([stride, stride], [1, 1], [1, 1], c),
                )
            };
            assert_eq!(y.dims(), [n, c, (h - 1) / stride + 1, (w - 1) / stride + 1]);
            y
        },
    )
}

#[test]
fn depthwise3x3_matches_burns_grouped_conv_forward_and_backward() {
    for (k, &shape) in DEPTHWISE_SHAPES.iter().enumerate() {
        for with_bias in [false, true] {
            let seed = 10 * k as u64 + with_bias as u64;
            let (y, dx, dw, db) = depthwise_grads(shape, with_bias, seed, true);
            let (ry, rdx, rdw, rdb) = depthwise_grads(shape, with_bias, seed, false);
            let at = format!("shape (n, c, h, w, stride) {shape:?}, bias {with_bias}");
            assert_close(&format!("output, {at}"), &y, &ry);
            assert_close(&format!("input gradient, {at}"), &dx, &rdx);
            assert_close(&format!("weight gradient, {at}"), &dw, &rdw);
            if let (Some(db), Some(rdb)) = (db, rdb) {
                assert_close(&format!("bias gradient, {at}"), &db, &rdb);
            }
        }
    }
}

/// Central differences in f64 of `L = Σ dy · op(x, w)` against the op's own gradients, for
/// every input and weight element of small shapes (both strides).
#[test]
fn depthwise3x3_and_conv1x1_gradients_match_finite_differences() {
    let device = Device::flex();
    let loss = |x: &[f32],
                w: &[f32],
                dy: &[f32],
                shape: (usize, usize, usize, usize),
                stride: usize,
                pointwise: bool|
     -> f64 {
        let (n, c, h, wd) = shape;
        let xt = Tensor::<4>::from_data(TensorData::new(x.to_vec(), vec![n, c, h, wd]), &device);
        let y = if pointwise {
            let o = w.len() / c;
            conv1x1(
                xt,
                Tensor::<4>::from_data(TensorData::new(w.to_vec(), vec![o, c, 1, 1]), &device),
                None,
            )
        } else {
            depthwise3x3(
                xt,
                Tensor::<4>::from_data(TensorData::new(w.to_vec(), vec![c, 1, 3, 3]), &device),
                None,
                stride,
            )
        };
        values(y)
            .iter()
            .zip(dy)
            .map(|(a, b)| *a as f64 * *b as f64)
            .sum()
    };
    // (n, c, h, w, stride, pointwise outputs or 0 for depthwise)
    for (k, &(n, c, h, wd, stride, outputs)) in [
        (2, 3, 5, 4, 1, 0),
        (1, 2, 6, 5, 2, 0),
        (3, 1, 3, 3, 2, 0),
        (2, 3, 3, 4, 1, 4),
    ]
    .iter()
    .enumerate()
    {
        let pointwise = outputs > 0;
        let seed = 1000 + k as u64;
        let x = random(&[n, c, h, wd], seed);
        let w = if pointwise {
            random(&[outputs, c], seed + 1)
        } else {
            random(&[c, 9], seed + 1)
        };
        let (ho, wo, oc) = if pointwise {
            (h, wd, outputs)
        } else {
            ((h - 1) / stride + 1, (wd - 1) / stride + 1, c)
        };
        let dy = random(&[n, oc, ho, wo], seed + 2);

        let ad = Device::flex().autodiff();
        let xt = Tensor::<4>::from_data(TensorData::new(x.clone(), vec![n, c, h, wd]), &ad)
            .require_grad();
        let wshape = if pointwise {
            vec![outputs, c, 1, 1]
        } else {
            vec![c, 1, 3, 3]
        };
        let wt = Tensor::<4>::from_data(TensorData::new(w.clone(), wshape), &ad).require_grad();
        let y = if pointwise {
            conv1x1(xt.clone(), wt.clone(), None)
        } else {
            depthwise3x3(xt.clone(), wt.clone(), None, stride)
        };
        let dyt = Tensor::<4>::from_data(TensorData::new(dy.clone(), vec![n, oc, ho, wo]), &ad);
        let grads = (y * dyt).sum().backward();
        let (gx, gw) = (
            values(xt.grad(&grads).unwrap()),
            values(wt.grad(&grads).unwrap()),
        );

        let eps = 1e-2f32;
        let shape = (n, c, h, wd);
        for (which, base, analytic) in [("input", &x, &gx), ("weight", &w, &gw)] {
            for i in 0..base.len() {
                let (mut plus, mut minus) = (base.clone(), base.clone());
                plus[i] += eps;
                minus[i] -= eps;
                let (lp, lm) = if which == "input" {
                    (
                        loss(&plus, &w, &dy, shape, stride, pointwise),
                        loss(&minus, &w, &dy, shape, stride, pointwise),
                    )
                } else {
                    (
                        loss(&x, &plus, &dy, shape, stride, pointwise),
                        loss(&x, &minus, &dy, shape, stride, pointwise),
                    )
                };
                let numeric = (lp - lm) / (2.0 * eps as f64);
                assert!(
                    (numeric - analytic[i] as f64).abs() <= 2e-3 * (1.0 + numeric.abs()),
                    "case {k}: {which} gradient [{i}]: finite differences {numeric}, op {}",
                    analytic[i]
                );
            }
        }
    }
}

/// The fixed partition: every output and gradient has the same bits at 1, 2 and 3 threads.
#[test]
fn depthwise3x3_is_bit_identical_across_thread_counts() {
    let shape = (7, 12, 13, 11, 2);
    let at = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| depthwise_grads(shape, true, 77, true))
    };
    let one = at(1);
    for threads in [2, 3] {
        let other = at(threads);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&one.0), bits(&other.0), "output at {threads} threads");
        assert_eq!(
            bits(&one.1),
            bits(&other.1),
            "input gradient at {threads} threads"
        );
        assert_eq!(
            bits(&one.2),
            bits(&other.2),
            "weight gradient at {threads} threads"
        );
    }
}

/// MobileNetV2's convs reach the fast ops; a dilated, 5x5 or dense 3x3 conv stays burn's.
#[test]
fn convs_route_to_the_op_that_fits_them() {
    let device = Device::flex().autodiff();
    let x = Tensor::<4>::zeros([1, 8, 6, 6], &device);
    let conv = |k: usize, groups: usize, stride: usize, pad: usize, dilation: usize| {
        Conv2dConfig::new([8, 8], [k, k])
            .with_groups(groups)
            .with_stride([stride, stride])
            .with_dilation([dilation, dilation])
            .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
            .init(&device)
    };
    assert_eq!(route(&conv(1, 1, 1, 0, 1), &x), Route::Gemm, "a 1x1");
    assert_eq!(route(&conv(3, 1, 1, 1, 1), &x), Route::Gemm, "a dense 3x3");
    assert_eq!(route(&conv(5, 1, 2, 2, 1), &x), Route::Gemm, "a dense 5x5");
    assert_eq!(
        route(&conv(3, 1, 1, 1, 2), &x),
        Route::Burn,
        "a dense dilated 3x3"
    );
    assert_eq!(route(&conv(3, 8, 1, 1, 1), &x), Route::Depthwise);
    assert_eq!(route(&conv(3, 8, 2, 1, 1), &x), Route::Depthwise);
    assert_eq!(route(&conv(3, 8, 1, 1, 2), &x), Route::Burn, "dilation 2");
    assert_eq!(
        route(&conv(5, 8, 1, 2, 1), &x),
        Route::Burn,
        "a depthwise 5x5"
    );
    assert_eq!(route(&conv(3, 8, 1, 0, 1), &x), Route::Burn, "no padding");
    assert_eq!(
        route(&conv(3, 2, 1, 1, 1), &x),
        Route::Burn,
        "groups of 4 channels"
    );
    // The depthwise conv of a MobileNetV2 model, on a model's input, takes the fast op.
    let y = runner::models::fast_conv::conv2d(&conv(3, 8, 2, 1, 1), x);
    assert_eq!(y.dims(), [1, 8, 3, 3]);
}

/// A dense conv: (batch, in, out, height, width, [kh, kw], [sh, sw], [top, bottom, left,
/// right]).
type DenseShape = (
    usize,
    usize,
    usize,
    usize,
    usize,
    [usize; 2],
    [usize; 2],
    [usize; 4],
);

/// Batch 1 and odd sizes; 1x1, 3x3, 5x5 and non-square kernels; strides 1 to 3 and unequal
/// ones; no, symmetric and asymmetric padding, padding wider than the kernel reaches; maps
/// from 1x1 up; batches cut into many chunks (37 images of 2x2 maps), into one, and into
/// chunks of one image (maps of 272 positions), which the op reads and writes in place.
const DENSE_SHAPES: [DenseShape; 12] = [
    (1, 3, 5, 4, 4, [1, 1], [1, 1], [0, 0, 0, 0]),
    (3, 8, 6, 5, 7, [3, 3], [1, 1], [1, 1, 1, 1]),
    (2, 3, 4, 9, 8, [5, 5], [2, 2], [2, 2, 2, 2]),
    (5, 2, 3, 7, 6, [2, 3], [1, 2], [0, 1, 2, 0]),
    (1, 4, 2, 1, 1, [3, 3], [1, 1], [1, 1, 1, 1]),
    (37, 6, 10, 2, 2, [1, 1], [1, 1], [0, 0, 0, 0]),
    (4, 3, 5, 11, 10, [3, 3], [3, 2], [0, 0, 0, 0]),
    (2, 5, 3, 6, 6, [3, 3], [2, 2], [3, 1, 0, 2]),
    (96, 4, 8, 1, 1, [1, 1], [1, 1], [0, 0, 0, 0]),
    (3, 2, 7, 14, 14, [5, 5], [1, 1], [2, 2, 2, 2]),
    (3, 4, 5, 16, 17, [1, 1], [1, 1], [0, 0, 0, 0]),
    (2, 3, 4, 17, 16, [3, 3], [1, 1], [1, 1, 1, 1]),
];

fn dense_output_size(shape: DenseShape) -> [usize; 2] {
    let (_, _, _, h, w, k, s, p) = shape;
    [
        (h + p[0] + p[1] - k[0]) / s[0] + 1,
        (w + p[2] + p[3] - k[1]) / s[1] + 1,
    ]
}

/// Our dense conv's (or burn's `conv2d`'s) output and gradients for a fixed upstream gradient.
fn dense_grads(shape: DenseShape, with_bias: bool, seed: u64, fast: bool) -> Grads {
    let (n, c, o, h, w, k, stride, p) = shape;
    let [ho, wo] = dense_output_size(shape);
    conv_grads(
        [n, c, h, w],
        [o, c, k[0], k[1]],
        with_bias,
        seed,
        |x, wt, bias| {
            let y = if fast {
                conv2d_gemm(x, wt, bias, stride, p)
            } else {
                let padding = [(p[0], p[1]), (p[2], p[3])];
                conv2d(
                    x,
                    wt,
                    bias,
                    ConvOptions::new_with_padding(stride, padding, [1, 1], 1),
                )
            };
            assert_eq!(y.dims(), [n, o, ho, wo]);
            y
        },
    )
}

#[test]
fn conv2d_gemm_matches_burns_conv_forward_and_backward() {
    for (k, &shape) in DENSE_SHAPES.iter().enumerate() {
        for with_bias in [false, true] {
            let seed = 20 * k as u64 + with_bias as u64;
            let (y, dx, dw, db) = dense_grads(shape, with_bias, seed, true);
            let (ry, rdx, rdw, rdb) = dense_grads(shape, with_bias, seed, false);
            let at = format!("shape {shape:?}, bias {with_bias}");
            assert_close(&format!("output, {at}"), &y, &ry);
            assert_close(&format!("input gradient, {at}"), &dx, &rdx);
            assert_close(&format!("weight gradient, {at}"), &dw, &rdw);
            if let (Some(db), Some(rdb)) = (db, rdb) {
                assert_close(&format!("bias gradient, {at}"), &db, &rdb);
            }
        }
    }
}

/// Central differences in f64 of `L = Σ dy · conv(x, w)` against the op's gradients, for
/// every input and weight element of small shapes (strided, asymmetric padding).
#[test]
fn conv2d_gemm_gradients_match_finite_differences() {
    let device = Device::flex();
    for (case, &shape) in [DENSE_SHAPES[3], DENSE_SHAPES[7], DENSE_SHAPES[2]]
        .iter()
        .enumerate()
    {
        let (n, c, o, h, w, k, stride, p) = shape;
        let [ho, wo] = dense_output_size(shape);
        let seed = 2000 + case as u64;
        let x = random(&[n, c, h, w], seed);
        let wv = random(&[o, c, k[0], k[1]], seed + 1);
        let dy = random(&[n, o, ho, wo], seed + 2);
        let loss = |x: &[f32], wv: &[f32]| -> f64 {
            let xt = Tensor::<4>::from_data(TensorData::new(x.to_vec(), vec![n, c, h, w]), &device);
            let wt = Tensor::<4>::from_data(
                TensorData::new(wv.to_vec(), vec![o, c, k[0], k[1]]),
                &device,
            );
            values(conv2d_gemm(xt, wt, None, stride, p))
                .iter()
                .zip(&dy)
                .map(|(a, b)| *a as f64 * *b as f64)
                .sum()
        };

        let ad = Device::flex().autodiff();
        let xt = Tensor::<4>::from_data(TensorData::new(x.clone(), vec![n, c, h, w]), &ad)
            .require_grad();
        let wt = Tensor::<4>::from_data(TensorData::new(wv.clone(), vec![o, c, k[0], k[1]]), &ad)
            .require_grad();
        let y = conv2d_gemm(xt.clone(), wt.clone(), None, stride, p);
        let dyt = Tensor::<4>::from_data(TensorData::new(dy.clone(), vec![n, o, ho, wo]), &ad);
        let grads = (y * dyt).sum().backward();
        let (gx, gw) = (
            values(xt.grad(&grads).unwrap()),
            values(wt.grad(&grads).unwrap()),
        );
        let eps = 1e-2f32;
        for (which, base, analytic) in [("input", &x, &gx), ("weight", &wv, &gw)] {
            for i in 0..base.len() {
                let (mut plus, mut minus) = (base.clone(), base.clone());
                plus[i] += eps;
                minus[i] -= eps;
                let (lp, lm) = if which == "input" {
                    (loss(&plus, &wv), loss(&minus, &wv))
                } else {
                    (loss(&x, &plus), loss(&x, &minus))
                };
                let numeric = (lp - lm) / (2.0 * eps as f64);
                assert!(
                    (numeric - analytic[i] as f64).abs() <= 2e-3 * (1.0 + numeric.abs()),
                    "case {case}: {which} gradient [{i}]: finite differences {numeric}, op {}",
                    analytic[i]
                );
            }
        }
    }
}

/// Many groups of chunks (37 images of 2x2 maps, 96 1x1 maps) and one group spread by gemm
/// over the threads (3 images of 14x14): the same bits at 1, 2 and 3 threads.
#[test]
fn conv2d_gemm_is_bit_identical_across_thread_counts() {
    for shape in [DENSE_SHAPES[5], DENSE_SHAPES[8], DENSE_SHAPES[9]] {
        let at = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| dense_grads(shape, true, 91, true))
        };
        let one = at(1);
        for threads in [2, 3] {
            let other = at(threads);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            for (what, a, b) in [
                ("output", &one.0, &other.0),
                ("input gradient", &one.1, &other.1),
                ("weight gradient", &one.2, &other.2),
            ] {
                assert_eq!(bits(a), bits(b), "{what} at {threads} threads, {shape:?}");
            }
        }
    }
}

/// (batch, channels, height, width): batch 1 with a map, 1x1 maps, odd sizes, a long plane.
const BN_SHAPES: [(usize, usize, usize, usize); 6] = [
    (1, 3, 4, 5),
    (2, 4, 1, 1),
    (5, 3, 3, 7),
    (7, 2, 2, 2),
    (3, 6, 14, 14),
    (96, 5, 1, 1),
];

/// BatchNorm in training: output, batch mean and variance, and the gradients of x, gamma
/// and beta for a fixed upstream gradient (our op, or burn's `batch_norm_train`).
fn batch_norm_grads(shape: (usize, usize, usize, usize), seed: u64, fast: bool) -> Vec<Vec<f32>> {
    let (n, c, h, w) = shape;
    let device = Device::flex().autodiff();
    let make = |shape: &[usize], s: u64| TensorData::new(random(shape, s), shape.to_vec());
    // An offset and scale per element, so the statistics are not those of [-1, 1) noise.
    let x = Tensor::<4>::from_data(make(&[n, c, h, w], seed), &device)
        .mul_scalar(3.0)
        .add_scalar(0.5)
        .detach()
        .require_grad();
    let gamma = Tensor::<1>::from_data(make(&[c], seed + 1), &device).require_grad();
    let beta = Tensor::<1>::from_data(make(&[c], seed + 2), &device).require_grad();
    let (y, mean, var) = if fast {
        runner::models::batch_norm_op::batch_norm_nchw_train(
            x.clone(),
            gamma.clone(),
            beta.clone(),
            1e-5,
        )
    } else {
        let out =
            burn::tensor::module::batch_norm_train(x.clone(), gamma.clone(), beta.clone(), 1e-5);
        (out.output, out.mean, out.variance)
    };
    let dy = Tensor::<4>::from_data(make(&[n, c, h, w], seed + 3), &device);
    let grads = (y.clone() * dy).sum().backward();
    vec![
        values(y),
        values(mean),
        values(var),
        values(x.grad(&grads).expect("an input gradient")),
        values(gamma.grad(&grads).expect("a gamma gradient")),
        values(beta.grad(&grads).expect("a beta gradient")),
    ]
}

#[test]
fn batch_norm_op_matches_burns_batch_norm_train_forward_and_backward() {
    let names = [
        "output",
        "mean",
        "variance",
        "input gradient",
        "gamma gradient",
        "beta gradient",
    ];
    for (k, &shape) in BN_SHAPES.iter().enumerate() {
        let ours = batch_norm_grads(shape, 500 + k as u64, true);
        let reference = batch_norm_grads(shape, 500 + k as u64, false);
        for ((name, a), b) in names.iter().zip(&ours).zip(&reference) {
            assert_close(&format!("{name}, shape (n, c, h, w) {shape:?}"), a, b);
        }
    }
}

/// Central differences in f64 of `L = Σ dy · BN(x)` against the op's gradients of x, gamma
/// and beta (the batch statistics depend on x, which the input gradient must carry).
#[test]
fn batch_norm_op_gradients_match_finite_differences() {
    let device = Device::flex();
    let (n, c, h, w) = (3, 2, 2, 3);
    let x = random(&[n, c, h, w], 900);
    let gamma = random(&[c], 901);
    let beta = random(&[c], 902);
    let dy = random(&[n, c, h, w], 903);
    let loss = |x: &[f32], gamma: &[f32], beta: &[f32]| -> f64 {
        // On the plain flex device the op still takes the batch statistics.
        let t = |v: &[f32], shape: Vec<usize>| TensorData::new(v.to_vec(), shape);
        let (y, _, _) = runner::models::batch_norm_op::batch_norm_nchw_train(
            Tensor::<4>::from_data(t(x, vec![n, c, h, w]), &device),
            Tensor::<1>::from_data(t(gamma, vec![c]), &device),
            Tensor::<1>::from_data(t(beta, vec![c]), &device),
            1e-5,
        );
        values(y)
            .iter()
            .zip(&dy)
            .map(|(a, b)| *a as f64 * *b as f64)
            .sum()
    };
    let ad = Device::flex().autodiff();
    let xt =
        Tensor::<4>::from_data(TensorData::new(x.clone(), vec![n, c, h, w]), &ad).require_grad();
    let gt = Tensor::<1>::from_data(TensorData::new(gamma.clone(), vec![c]), &ad).require_grad();
    let bt = Tensor::<1>::from_data(TensorData::new(beta.clone(), vec![c]), &ad).require_grad();
    let (y, _, _) = runner::models::batch_norm_op::batch_norm_nchw_train(
        xt.clone(),
        gt.clone(),
        bt.clone(),
        1e-5,
    );
    let dyt = Tensor::<4>::from_data(TensorData::new(dy.clone(), vec![n, c, h, w]), &ad);
    let grads = (y * dyt).sum().backward();
    let analytic = [
        values(xt.grad(&grads).unwrap()),
        values(gt.grad(&grads).unwrap()),
        values(bt.grad(&grads).unwrap()),
    ];
    let eps = 1e-2f32;
    for (which, grad) in analytic.iter().enumerate() {
        for i in 0..grad.len() {
            let mut args = [x.clone(), gamma.clone(), beta.clone()];
            args[which][i] += eps;
            let plus = loss(&args[0], &args[1], &args[2]);
            args[which][i] -= 2.0 * eps;
            let minus = loss(&args[0], &args[1], &args[2]);
            let numeric = (plus - minus) / (2.0 * eps as f64);
            assert!(
                (numeric - grad[i] as f64).abs() <= 5e-3 * (1.0 + numeric.abs()),
                "argument {which} [{i}]: finite differences {numeric}, op {}",
                grad[i]
            );
        }
    }
}

#[test]
fn batch_norm_op_is_bit_identical_across_thread_counts() {
    let at = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| batch_norm_grads((9, 7, 5, 6), 31, true))
    };
    let bits = |v: &[Vec<f32>]| {
        v.iter()
            .map(|t| t.iter().map(|x| x.to_bits()).collect::<Vec<_>>())
            .collect::<Vec<_>>()
    };
    let one = bits(&at(1));
    for threads in [2, 3] {
        assert_eq!(one, bits(&at(threads)), "at {threads} threads");
    }
}

/// ReLU6's value and gradient against burn's `relu(x).clamp_max(6)`, on values spread over
/// [-4.5, 10.5) so every branch is taken (a random value lands exactly on 0 or 6 with
/// probability 0, where the two gradient rules differ).
#[test]
fn relu6_op_matches_burns_relu_and_clamp() {
    let device = Device::flex().autodiff();
    let shape = [3, 5, 7, 9];
    let make = |s: u64| TensorData::new(random(&shape, s), shape.to_vec());
    let run = |fast: bool| {
        let x = Tensor::<4>::from_data(make(41), &device)
            .mul_scalar(7.5)
            .add_scalar(3.0)
            .detach()
            .require_grad();
        let y = if fast {
            runner::models::relu6_op::relu6(x.clone())
        } else {
            burn::tensor::activation::relu(x.clone()).clamp_max(6.0)
        };
        let dy = Tensor::<4>::from_data(make(42), &device);
        let grads = (y.clone() * dy).sum().backward();
        (values(y), values(x.grad(&grads).expect("a gradient")))
    };
    let ((y, dx), (ry, rdx)) = (run(true), run(false));
    assert_eq!(y, ry, "values");
    assert_eq!(dx, rdx, "gradients");
    assert!(y.contains(&0.0) && y.contains(&6.0));
    assert!(y.iter().any(|&v| v > 0.0 && v < 6.0));
}
