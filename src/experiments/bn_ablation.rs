//! Batch Normalization ablation (Ioffe & Szegedy 2015, Figure 1 and the learning-rate table):
//! an MLP with or without BN, tracking test accuracy and the 15/50/85th percentiles of one
//! last-layer sigmoid's input over a fixed batch of test images.

use burn::prelude::*;

use super::{Context, KindResult};
use crate::data::Split;
use crate::models::mlp::Mlp;
use crate::spec::ExperimentSpec;
use crate::train::batches::BatchOrder;
use crate::train::classify::{count_correct, cross_entropy, gather};
use crate::train::stats::percentile;
use crate::train::{Evaluation, Task};

const EVAL_CHUNK: usize = 1000;
const PERCENTILES: [f64; 3] = [15.0, 50.0, 85.0];

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
    let (outcome, params) = ctx.train(spec, &mut task)?;
    let last = outcome.history.last();
    let extra = PERCENTILES
        .iter()
        .enumerate()
        .map(|(i, p)| (format!("final_probe_p{p}"), last.map(|r| r.extra[i])))
        .collect();
    Ok(KindResult {
        outcome,
        params,
        extra,
    })
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

    fn extra_metrics(&self) -> Vec<String> {
        PERCENTILES.iter().map(|p| format!("probe_p{p}")).collect()
    }

    fn init(&self, device: &Device) -> Mlp {
        Mlp::new(
            &self.spec.model,
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
        let (mut loss_sum, mut correct) = (0.0f64, 0.0f64);
        for start in (0..n).step_by(EVAL_CHUNK) {
            let idx: Vec<usize> = (start..(start + EVAL_CHUNK).min(n)).collect();
            let (x, y) = gather(&self.test, &idx, &self.eval_device);
            let x = x.flatten::<2>(1, 3);
            let logits = model.forward(x).logits;
            correct += count_correct(logits.clone(), y.clone()).into_scalar::<f32>() as f64;
            loss_sum += cross_entropy(logits, y).sum().into_scalar::<f32>() as f64;
        }
        let probe: Vec<usize> = (0..self.spec.eval.probe_images.min(n)).collect();
        let (x, _) = gather(&self.test, &probe, &self.eval_device);
        let x = x.flatten::<2>(1, 3);
        let unit = self.spec.eval.probe_unit;
        let pre = model
            .forward(x)
            .last_pre_activation
            .slice([0..probe.len(), unit..unit + 1]);
        let values = pre
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32 activations");
        Evaluation {
            loss: loss_sum / n as f64,
            accuracy: correct / n as f64,
            extra: PERCENTILES
                .iter()
                .map(|&q| percentile(&values, q))
                .collect(),
        }
    }

    fn epochs(&self, steps: u64) -> f64 {
        self.order.epochs(steps)
    }
}
