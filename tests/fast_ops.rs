//! The project's fast conv ops against burn's own conv: forward output and every gradient
//! (input, weight, bias) on random shapes, batch sizes 1 and odd included, to 1e-4 relative.

use burn::prelude::*;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
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
