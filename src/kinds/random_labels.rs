//! Randomization tests (Zhang et al. 2017, Figure 1 and Table 1): train a classifier on data
//! whose labels and/or images were randomized once from the seed, until it fits the training
//! set (100% accuracy over the whole training set, measured in inference mode at every
//! evaluation) or the step budget ends; record the time to fit and the test accuracy on true
//! test labels.

use burn::prelude::*;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

use super::{Context, KindDef, KindResult, no_checks, no_extra_datasets};
use crate::config::{ExperimentSpec, KindSchema, Uses};
use crate::data::Split;
use crate::data::augment::shift_into;
use crate::data::corrupt::{self, CorruptionReport};
use crate::models::classifier::Classifier;
use crate::train::batches::BatchOrder;
use crate::train::classify::{chunks, count_correct, cross_entropy, evaluate_batches, gather};
use crate::train::metrics::EvalRow;
use crate::train::saved_model::{ModelConfig, Net};
use crate::train::{Evaluation, Task};
use crate::util::rng::mix;
use crate::util::table::{Column, Show};

const EVAL_CHUNK: usize = 500;
const CROP_STREAM: u64 = 0x4352_4f50; // "CROP"
/// Extra metrics columns: loss and accuracy over the whole training set (inference mode, no
/// augmentation, the corrupted labels the net is trained on).
const EXTRA: [&str; 2] = ["train_set_loss", "train_set_accuracy"];

pub static KIND: KindDef = KindDef {
    schema: KindSchema {
        name: "random_labels",
        section: None,
        uses: Uses {
            conv_archs: true,
            corruption: true,
            random_crop: true,
            whiten: true,
            stop_at_fit: true,
        },
        check: no_checks,
        memory,
    },
    paper: "Zhang et al. 2017, Rethinking generalization (Fig. 1, Table 1)",
    run,
    columns: &[
        Column::new("labels_changed", Show::Percent),
        Column::new("final_train_set_accuracy", Show::Percent),
        Column::new("fit99_epoch", Show::Fixed(1)),
        Column::new("fit_epoch", Show::Fixed(1)),
    ],
    inspect: None,
    extra_datasets: no_extra_datasets,
};

/// The MLP's memory, or the convolutional net's from its layer shapes on the dataset's images.
fn memory(spec: &ExperimentSpec) -> Option<crate::config::memory::Estimate> {
    use crate::config::memory;
    let [h, w, c] = memory::image_shape(&spec.data.dataset)?;
    let classes = crate::data::registry::spec(&spec.data.dataset)
        .ok()?
        .num_classes;
    match spec.model.classifier().conv_sizes([c, h, w], classes) {
        None => memory::mlp(spec),
        // Evaluation in chunks of EVAL_CHUNK keeps no graph: a layer's output is freed once
        // the next is computed, so training's batch is what counts.
        Some(sizes) => Some(memory::estimate(
            spec,
            sizes.params,
            sizes.activations * spec.train.batch_size as f64,
            "model.width",
        )),
    }
}

pub fn run(spec: &ExperimentSpec, ctx: &mut Context) -> anyhow::Result<KindResult> {
    let data = ctx.dataset(&spec.data)?;
    let (train, test, report) =
        corrupt::prepare(&data, &spec.corruption, spec.data.whiten, spec.seed);
    let mut task = FitTask {
        spec: spec.clone(),
        order: BatchOrder::new(train.n, spec.train.batch_size, spec.seed),
        train,
        test,
        classes: data.num_classes,
        eval_device: ctx.device.clone().inner(),
    };
    let outcome = ctx.train(spec, &mut task)?;
    let extra = summary_columns(&task, &outcome.history, &report);
    Ok(KindResult { outcome, extra })
}

/// Training-set accuracy at which the `fit99_*` columns count a variant as (nearly) fitted: the
/// 100% criterion waits for the last few hardest examples and is noisy from run to run.
const NEAR_FIT: f64 = 0.99;

/// The kind's summary columns: what the corruption did, the final fit of the training set,
/// the first evaluations at which it was fitted (at 100% or the stopping threshold, and at
/// 99%), and the test error (Figure 1c).
fn summary_columns(
    task: &FitTask,
    history: &[EvalRow],
    report: &CorruptionReport,
) -> Vec<(String, Option<f64>)> {
    let last = history.last();
    let first_at = |threshold: f64| history.iter().find(|r| r.extra[1] >= threshold);
    let fitted = first_at(task.fit_threshold());
    let near = first_at(NEAR_FIT);
    vec![
        ("label_noise".into(), Some(report.label_noise)),
        ("labels_changed".into(), Some(report.changed_fraction())),
        ("epochs".into(), last.map(|r| r.epoch)),
        ("final_train_set_accuracy".into(), last.map(|r| r.extra[1])),
        ("final_train_set_loss".into(), last.map(|r| r.extra[0])),
        (
            "final_test_error".into(),
            last.map(|r| 1.0 - r.test_accuracy),
        ),
        ("fit_step".into(), fitted.map(|r| r.step as f64)),
        ("fit_epoch".into(), fitted.map(|r| r.epoch)),
        ("fit99_step".into(), near.map(|r| r.step as f64)),
        ("fit99_epoch".into(), near.map(|r| r.epoch)),
    ]
}

struct FitTask {
    spec: ExperimentSpec,
    order: BatchOrder,
    /// Training images and labels after corruption.
    train: Split,
    /// Test images after the same image corruption; labels true.
    test: Split,
    classes: usize,
    eval_device: Device,
}

impl FitTask {
    fn shape(&self) -> [usize; 3] {
        [self.train.channels, self.train.height, self.train.width]
    }

    /// Training-set accuracy that counts as fitted: the stopping threshold, or 100%.
    fn fit_threshold(&self) -> f64 {
        match self.spec.eval.stop_at_train_accuracy {
            t if t > 0.0 => t,
            _ => 1.0,
        }
    }

    /// The batch of `step` as `[batch, c, h, w]`, randomly shifted when cropping is on (the
    /// offsets are a function of seed and step, so a resumed run draws the same ones).
    fn batch(&mut self, step: u64, device: &Device) -> (Tensor<4>, Tensor<1, Int>) {
        let idx = self.order.batch(step);
        let pad = self.spec.data.random_crop;
        if pad == 0 {
            return gather(&self.train, &idx, device);
        }
        let shape = self.shape();
        let mut rng = Pcg64::seed_from_u64(mix(self.spec.seed ^ CROP_STREAM, step));
        let [c, h, w] = shape;
        let len = self.train.image_len();
        let mut pixels = vec![0.0; idx.len() * len];
        // A crop of the zero-padded image at offset o in 0..=2*pad is a shift by pad - o.
        for (&i, dst) in idx.iter().zip(pixels.chunks_exact_mut(len)) {
            let dy = pad as i64 - rng.random_range(0..=2 * pad) as i64;
            let dx = pad as i64 - rng.random_range(0..=2 * pad) as i64;
            shift_into(self.train.image(i), dst, c, h, w, dy, dx, false);
        }
        let labels: Vec<i64> = idx.iter().map(|&i| self.train.labels[i] as i64).collect();
        (
            Tensor::from_data(TensorData::new(pixels, [idx.len(), c, h, w]), device),
            Tensor::from_data(TensorData::new(labels, [idx.len()]), device),
        )
    }
}

impl Task for FitTask {
    type Model = Classifier;

    fn extra_metrics(&self) -> Vec<String> {
        EXTRA.iter().map(|s| s.to_string()).collect()
    }

    fn init(&self, device: &Device) -> Classifier {
        Classifier::new(
            &self.spec.model.classifier(),
            self.shape(),
            self.classes,
            device,
        )
    }

    fn train_step(
        &mut self,
        model: &Classifier,
        step: u64,
        device: &Device,
    ) -> (Tensor<1>, Tensor<1>, usize) {
        let (x, y) = self.batch(step, device);
        let n = y.dims()[0];
        let logits = model.forward(x);
        let correct = count_correct(logits.clone(), y.clone());
        (cross_entropy(logits, y).mean(), correct, n)
    }

    fn evaluate(&mut self, model: &Classifier) -> Evaluation {
        let (test_loss, test_acc) = loss_accuracy(model, &self.test, &self.eval_device);
        let (train_loss, train_acc) = loss_accuracy(model, &self.train, &self.eval_device);
        Evaluation {
            loss: test_loss,
            accuracy: test_acc,
            extra: vec![train_loss, train_acc],
        }
    }

    fn epochs(&self, steps: u64) -> f64 {
        self.order.epochs(steps)
    }

    fn saved_model(&self) -> Option<ModelConfig> {
        Some(ModelConfig::new(
            &self.spec,
            Net::Classifier {
                classifier: self.spec.model.classifier(),
            },
            self.shape(),
            self.classes,
            None,
            EVAL_CHUNK,
        ))
    }

    fn stop_after(&self, row: &EvalRow) -> bool {
        let target = self.spec.eval.stop_at_train_accuracy;
        target > 0.0 && row.extra[1] >= target
    }
}

/// Mean cross-entropy and accuracy of `model` over all of `split`.
fn loss_accuracy(model: &Classifier, split: &Split, device: &Device) -> (f64, f64) {
    let e = evaluate_batches(chunks(split, EVAL_CHUNK, device), |x| model.forward(x));
    (e.loss, e.accuracy)
}
