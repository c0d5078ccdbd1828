//! Finite-sample expressivity (Zhang et al. 2017, Theorem 1): build the two-layer ReLU net with
//! `2n + d` weights that fits the (true or randomized) labels of the first n training images
//! exactly, and measure how exactly, in f64.

use std::time::Instant;

use super::{Context, KindDef, KindResult, no_checks, no_extra_datasets};
use crate::config::{ExperimentSpec, KindSchema, Uses};
use crate::data::corrupt;
use crate::models::finite_sample::TwoLayerRelu;
use crate::train::{Outcome, Status};
use crate::util::rng::mix;
use crate::util::table::{Column, Show};

const DIRECTION_STREAM: u64 = 0x4449_5245_4354; // "DIRECT"

pub static KIND: KindDef = KindDef {
    schema: KindSchema {
        name: "expressivity",
        section: None,
        uses: Uses {
            conv_archs: false,
            corruption: true,
            random_crop: false,
            whiten: true,
            stop_at_fit: false,
        },
        check: no_checks,
        memory,
    },
    paper: "Zhang et al. 2017, Rethinking generalization (Theorem 1)",
    run,
    columns: &[
        Column::new("labels_changed", Show::Percent),
        Column::new("n", Show::Raw),
        Column::new("weights", Show::Raw),
        Column::new("max_residual", Show::Sci(1)),
    ],
    inspect: None,
    extra_datasets: no_extra_datasets,
};

/// The dataset, the corrupted copy of its first n training images and that copy in f64 (the
/// construction's `x`), and the n-long vectors of the solver (projections, their order, biases,
/// weights, targets, predictions, residuals).
fn memory(spec: &ExperimentSpec) -> Option<crate::config::memory::Estimate> {
    use crate::config::memory;
    let [h, w, c] = memory::image_shape(&spec.data.dataset)?;
    let available = crate::data::registry::spec(&spec.data.dataset)
        .ok()?
        .train_size;
    let n = match spec.data.train_limit {
        0 => available,
        limit => limit.min(available),
    } as f64;
    let d = (h * w * c) as f64;
    const VECTORS: f64 = 8.0;
    let mut est =
        memory::of_parts(&[(n * d * (4.0 + 8.0) + n * 8.0 * VECTORS, "data.train_limit")]);
    est.bytes += memory::data_bytes(spec);
    Some(est)
}

pub fn run(spec: &ExperimentSpec, ctx: &mut Context) -> anyhow::Result<KindResult> {
    let data = ctx.dataset(&spec.data)?;
    let (train, _, report) = corrupt::prepare(&data, &spec.corruption, spec.data.whiten, spec.seed);
    let (n, d) = (train.n, train.image_len());
    let x: Vec<f64> = train.images.iter().map(|&v| v as f64).collect();
    let y: Vec<f64> = train.labels.iter().map(|&l| l as f64).collect();

    let started = Instant::now();
    let net = TwoLayerRelu::fit(&x, d, &y, mix(spec.seed, DIRECTION_STREAM))?;
    let fit_seconds = started.elapsed().as_secs_f64();
    let predicted = net.predict(&x);
    let seconds = started.elapsed().as_secs_f64();

    let residuals: Vec<f64> = predicted
        .iter()
        .zip(&y)
        .map(|(p, t)| (p - t).abs())
        .collect();
    let max_residual = residuals.iter().copied().fold(0.0, f64::max);
    let mean_squared = residuals.iter().map(|r| r * r).sum::<f64>() / n as f64;
    // As a classifier: the nearest class index to the output.
    let correct = predicted
        .iter()
        .zip(&y)
        .filter(|(p, t)| p.round() == **t)
        .count();
    ctx.observer.step(1, mean_squared);

    let outcome = Outcome {
        status: Status::Done,
        history: Vec::new(),
        steps_run: 1,
        train_seconds: seconds,
        params: net.weights(),
    };
    let extra = vec![
        ("n".into(), Some(n as f64)),
        ("d".into(), Some(d as f64)),
        ("weights".into(), Some(net.weights() as f64)),
        ("label_noise".into(), Some(report.label_noise)),
        ("labels_changed".into(), Some(report.changed_fraction())),
        ("max_residual".into(), Some(max_residual)),
        ("mean_squared_residual".into(), Some(mean_squared)),
        (
            "rounded_train_accuracy".into(),
            Some(correct as f64 / n as f64),
        ),
        ("min_projection_gap".into(), Some(net.min_gap)),
        (
            "max_abs_output_weight".into(),
            Some(net.w.iter().fold(0.0f64, |m, w| m.max(w.abs()))),
        ),
        ("fit_seconds".into(), Some(fit_seconds)),
    ];
    Ok(KindResult { outcome, extra })
}
