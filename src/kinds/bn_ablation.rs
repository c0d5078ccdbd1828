//! Batch Normalization ablation (Ioffe & Szegedy 2015, Figure 1 and the learning-rate table):
//! an MLP with or without BN, tracking test accuracy and the 15/50/85th percentiles of one
//! last-layer sigmoid's input over a fixed batch of test images.

use burn::prelude::*;

use super::{Context, KindDef, KindResult, no_extra_datasets};
use crate::config::validate::{Problem, requirer};
use crate::config::{ExperimentSpec, KindSchema, Uses};
use crate::data::Split;
use crate::models::mlp::Mlp;
use crate::train::batches::BatchOrder;
use crate::train::classify::{chunks, count_correct, cross_entropy, evaluate_batches, gather};
use crate::train::saved_model::{ModelConfig, Net};
use crate::train::{Evaluation, Task};
use crate::util::stats::percentile;

const EVAL_CHUNK: usize = 1000;
const PERCENTILES: [f64; 3] = [15.0, 50.0, 85.0];
/// Units of the last hidden layer whose percentiles are averaged into the `probe_avg_*`
/// columns (the first ones; all of them in a narrower layer): one unit's drift is noise.
const AVERAGED_UNITS: usize = 10;

pub static KIND: KindDef = KindDef {
    schema: KindSchema {
        name: "bn_ablation",
        section: None,
        uses: Uses::NONE,
        check,
        memory: crate::config::memory::mlp,
    },
    paper: "Ioffe & Szegedy 2015, Batch Normalization",
    run,
    columns: &[],
    inspect: None,
    extra_datasets: no_extra_datasets,
};

/// The probe (Figure 1b,c) must name a unit of the last hidden layer.
fn check(spec: &ExperimentSpec, out: &mut Vec<Problem>) {
    let mut require = requirer(out);
    let e = &spec.eval;
    require(
        e.probe_images > 0,
        "eval.probe_images",
        "must be at least 1".into(),
    );
    let last = spec.model.hidden.last().copied().unwrap_or(0);
    require(
        e.probe_unit < last.max(1),
        "eval.probe_unit",
        format!("the last hidden layer has {last} units; probe_unit must be below that"),
    );
}

pub fn run(spec: &ExperimentSpec, ctx: &mut Context) -> anyhow::Result<KindResult> {
    let data = ctx.dataset(&spec.data)?;
    let mut task = MlpTask {
        spec: spec.clone(),
        order: BatchOrder::new(data.train.n, spec.train.batch_size, spec.seed),
        train: data.train.clone(),
        test: data.test.clone(),
        classes: data.num_classes,
        eval_device: ctx.device.clone().inner(),
    };
    let outcome = ctx.train(spec, &mut task)?;
    let last = outcome.history.last();
    let extra = PERCENTILES
        .iter()
        .enumerate()
        .map(|(i, p)| (format!("final_probe_p{p}"), last.map(|r| r.extra[i])))
        .collect();
    Ok(KindResult { outcome, extra })
}

struct MlpTask {
    spec: ExperimentSpec,
    order: BatchOrder,
    train: Split,
    test: Split,
    classes: usize,
    eval_device: Device,
}

impl Task for MlpTask {
    type Model = Mlp;

    /// `probe_p*` of the unit `eval.probe_unit`, then the same percentiles and the spread
    /// p85 - p15 averaged over the first `AVERAGED_UNITS` units (appended, so that the single
    /// unit's columns keep their place and values).
    fn extra_metrics(&self) -> Vec<String> {
        let single = PERCENTILES.iter().map(|p| format!("probe_p{p}"));
        let averaged = PERCENTILES.iter().map(|p| format!("probe_avg_p{p}"));
        single
            .chain(averaged)
            .chain(["probe_avg_spread".to_string()])
            .collect()
    }

    fn init(&self, device: &Device) -> Mlp {
        Mlp::new(
            &self.spec.model.mlp(),
            self.train.image_len(),
            self.classes,
            device,
        )
    }

    fn train_step(
        &mut self,
        model: &Mlp,
        step: u64,
        device: &Device,
    ) -> (Tensor<1>, Tensor<1>, usize) {
        let idx = self.order.batch(step);
        let (x, y) = gather(&self.train, &idx, device);
        let x = x.flatten::<2>(1, 3);
        let logits = model.forward(x).logits;
        let correct = count_correct(logits.clone(), y.clone());
        (cross_entropy(logits, y).mean(), correct, idx.len())
    }

    fn evaluate(&mut self, model: &Mlp) -> Evaluation {
        let n = self.test.n;
        let test = evaluate_batches(chunks(&self.test, EVAL_CHUNK, &self.eval_device), |x| {
            model.forward(x.flatten::<2>(1, 3)).logits
        });
        let probe: Vec<usize> = (0..self.spec.eval.probe_images.min(n)).collect();
        let (x, _) = gather(&self.test, &probe, &self.eval_device);
        let x = x.flatten::<2>(1, 3);
        let pre = model.forward(x).last_pre_activation;
        let width = pre.dims()[1];
        // Row-major [images, units]: unit u's values are every `width`-th from u.
        let all = pre
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32 activations");
        let unit_values =
            |u: usize| -> Vec<f32> { all.iter().skip(u).step_by(width).copied().collect() };
        let of_unit = |u: usize| -> Vec<f64> {
            let v = unit_values(u);
            PERCENTILES.iter().map(|&q| percentile(&v, q)).collect()
        };
        let mut extra = of_unit(self.spec.eval.probe_unit);
        let units = AVERAGED_UNITS.min(width);
        let mut avg = [0.0; 3];
        let mut spread = 0.0;
        for u in 0..units {
            let p = of_unit(u);
            for (a, x) in avg.iter_mut().zip(&p) {
                *a += x / units as f64;
            }
            spread += (p[2] - p[0]) / units as f64;
        }
        extra.extend(avg);
        extra.push(spread);
        Evaluation { extra, ..test }
    }

    fn epochs(&self, steps: u64) -> f64 {
        self.order.epochs(steps)
    }

    fn saved_model(&self) -> Option<ModelConfig> {
        let t = &self.test;
        Some(ModelConfig::new(
            &self.spec,
            Net::Mlp {
                mlp: self.spec.model.mlp(),
            },
            [t.channels, t.height, t.width],
            self.classes,
            None,
            EVAL_CHUNK,
        ))
    }
}
