//! Batch normalization as the BN paper defines it, checked by hand: batch statistics in
//! training (biased variance), running averages updated with momentum 0.1 (unbiased variance,
//! as PyTorch), population statistics at inference.

use burn::module::Module;
use burn::prelude::*;
use runner::config::ModelSpec;
use runner::models::batch_norm::BatchNorm;
use runner::models::mlp::Mlp;

const X: [[f32; 2]; 4] = [[1.0, -2.0], [2.0, 0.0], [3.0, 2.0], [6.0, 4.0]];

fn column(j: usize) -> Vec<f64> {
    X.iter().map(|r| r[j] as f64).collect()
}

fn mean_var(v: &[f64]) -> (f64, f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let ss = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>();
    (mean, ss / n, ss / (n - 1.0))
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-4, "{a} vs {b}");
}

#[test]
fn batch_norm_matches_the_hand_computation() {
    let device = Device::flex().autodiff();
    let bn = BatchNorm::new(2, &device);
    let x = Tensor::<2>::from_data(TensorData::from(X), &device);
    let y = bn
        .forward(x.clone())
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    for j in 0..2 {
        let (mean, var_biased, _) = mean_var(&column(j));
        for (i, row) in X.iter().enumerate() {
            let expected = (row[j] as f64 - mean) / (var_biased + 1e-5).sqrt();
            close(y[i * 2 + j] as f64, expected);
        }
    }
    // Running statistics after one step: 0.9 * init + 0.1 * batch (unbiased variance).
    let running_mean = bn
        .running_mean
        .value_sync()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let running_var = bn
        .running_var
        .value_sync()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    for j in 0..2 {
        let (mean, _, var_unbiased) = mean_var(&column(j));
        close(running_mean[j] as f64, 0.1 * mean);
        close(running_var[j] as f64, 0.9 + 0.1 * var_unbiased);
    }
    // Inference uses the population (running) statistics, not the batch's.
    let inference = bn.valid();
    let x = Tensor::<2>::from_data(TensorData::from(X), &device.inner());
    let y = inference
        .forward(x)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    for j in 0..2 {
        for (i, row) in X.iter().enumerate() {
            let expected =
                (row[j] as f64 - running_mean[j] as f64) / (running_var[j] as f64 + 1e-5).sqrt();
            close(y[i * 2 + j] as f64, expected);
        }
    }
}

#[test]
fn bn_mlp_normalizes_the_last_sigmoid_input_and_drops_biases() {
    let device = Device::flex().autodiff();
    device.seed(0);
    let spec = ModelSpec {
        hidden: vec![16, 8],
        batch_norm: true,
        ..ModelSpec::default()
    };
    let model = Mlp::new(&spec.mlp(), 5, 3, &device);
    let x = Tensor::<2>::random([64, 5], burn::tensor::Distribution::Default, &device);
    let pre = model.forward(x).last_pre_activation;
    let values = pre.into_data().try_to_vec::<f32>().unwrap();
    for unit in 0..8 {
        let col: Vec<f64> = (0..64).map(|i| values[i * 8 + unit] as f64).collect();
        let (mean, var, _) = mean_var(&col);
        close(mean, 0.0);
        // var / (var + eps): just under 1 for small pre-activation variances.
        assert!((var - 1.0).abs() < 5e-3, "unit {unit}: variance {var}");
    }
    // 5*16 + 16*8 weights, 2*(16+8) BN scale/shift, 8*3 + 3 for the classifier.
    assert_eq!(
        runner::models::count::trainable_params(&model),
        5 * 16 + 16 * 8 + 2 * (16 + 8) + 8 * 3 + 3
    );
}
