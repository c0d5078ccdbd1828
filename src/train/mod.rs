//! The plain training loop shared by every experiment kind: seeded steps, scheduled learning
//! rate, periodic evaluation written to `metrics.csv`, atomic checkpoints, resume, and
//! divergence detection.

pub mod batches;
pub mod checkpoint;
pub mod classify;
pub mod metrics;
pub mod optimizer;
pub mod rmsprop_tf;
pub mod saved_model;
pub mod schedule;
pub mod tensorboard;

use std::path::Path;
use std::time::Instant;

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::prelude::*;

use crate::config::TrainSpec;
use crate::models::count::trainable_params;
use crate::util::rng::mix;
use checkpoint::LoopState;
use metrics::{EvalRow, MetricsFile};
use saved_model::Saver;

/// What an experiment kind plugs into the loop.
pub trait Task {
    type Model: Module;

    /// Names of the kind's own metrics columns, appended after the standard ones.
    fn extra_metrics(&self) -> Vec<String>;

    /// A freshly initialized model; the device's RNG is seeded before this is called.
    fn init(&self, device: &Device) -> Self::Model;

    /// Loss (a scalar tensor) and the number of correctly classified examples in the training
    /// batch of the 0-based `step`.
    fn train_step(
        &mut self,
        model: &Self::Model,
        step: u64,
        device: &Device,
    ) -> (Tensor<1>, Tensor<1>, usize);

    /// Test metrics of the model in inference mode.
    fn evaluate(&mut self, model: &Self::Model) -> Evaluation;

    /// Fractional epochs after `steps` steps.
    fn epochs(&self, steps: u64) -> f64;

    /// Whether training ends after this evaluation (e.g. once the training set is fitted);
    /// the variant then finishes as done at `row.step`. Never, by default.
    fn stop_after(&self, _row: &EvalRow) -> bool {
        false
    }

    /// Writes the task's own state that a checkpoint must keep besides the model and the
    /// optimizer (e.g. learned per-example weights) into the checkpoint directory `dir`;
    /// nothing by default.
    fn save_state(&self, _dir: &Path) -> anyhow::Result<()> {
        Ok(())
    }

    /// Restores what [`Task::save_state`] wrote, when resuming from checkpoint `dir`.
    fn load_state(&mut self, _dir: &Path) -> anyhow::Result<()> {
        Ok(())
    }

    /// What rebuilds the model and makes its test images, for the `final` and `best` models
    /// the loop saves (`model/`); `None` (the default) saves none.
    fn saved_model(&self) -> Option<saved_model::ModelConfig> {
        None
    }
}

pub struct Evaluation {
    pub loss: f64,
    pub accuracy: f64,
    /// Values for [`Task::extra_metrics`], in order.
    pub extra: Vec<f64>,
}

/// Where the loop reports progress; implemented by the reporting module.
pub trait Observer {
    /// A training run of `total` steps starts, `done` of them already (a resume). A kind that
    /// trains in stages (R-CNN's pre-training, then fine-tuning) starts several per variant.
    fn begin(&mut self, _total: u64, _done: u64) {}
    fn step(&mut self, step: u64, loss: f64);
    fn evaluated(&mut self, row: &EvalRow);
}

pub struct LoopConfig<'a> {
    pub train: &'a TrainSpec,
    pub eval_every: u64,
    pub seed: u64,
    pub device: &'a Device,
    /// The variant's output directory (metrics.csv, checkpoints/).
    pub dir: &'a Path,
    /// Mirror metrics.csv into TensorBoard event files in `dir/tb/`.
    pub tensorboard: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    Done,
    /// The loss became NaN or infinite at this (1-based) step.
    Diverged {
        step: u64,
    },
}

pub struct Outcome {
    pub status: Status,
    /// Every evaluation, including those from before a resume.
    pub history: Vec<EvalRow>,
    pub steps_run: u64,
    /// Wall time of training steps alone (evaluation and checkpoints excluded).
    pub train_seconds: f64,
    /// Trainable parameters of the model.
    pub params: usize,
}

/// Runs (or resumes, if `dir` holds a checkpoint) one variant to completion or divergence.
pub fn run<T: Task>(
    task: &mut T,
    cfg: &LoopConfig,
    observer: &mut dyn Observer,
) -> anyhow::Result<Outcome> {
    let device = cfg.device;
    let t = cfg.train;
    device.seed(mix(cfg.seed, u64::MAX));
    let mut model = task.init(device);
    let mut optim = optimizer::build(t, &model);
    let mut state = LoopState::default();
    let metrics_path = cfg.dir.join("metrics.csv");

    // Resume from the newest checkpoint that is intact and matches metrics.csv; the rows after
    // it are written again.
    let extra = task.extra_metrics();
    let mut kept = Vec::new();
    if !checkpoint::list(cfg.dir)?.is_empty() {
        let rows = match metrics_path.exists() {
            true => metrics::read_complete(&metrics_path)?,
            false => Vec::new(),
        };
        let header = metrics::header(&extra);
        let digest = |step| metrics::sha256(&header, metrics::up_to(&rows, step));
        if let Some((ck, saved)) = checkpoint::newest_intact(cfg.dir, t.steps, &digest)? {
            (model, optim) = checkpoint::restore(&ck, model, optim)?;
            task.load_state(&ck)?;
            kept = metrics::up_to(&rows, saved.step).to_vec();
            state = saved;
        }
    }
    let mut metrics = MetricsFile::with_rows(&metrics_path, &extra, kept)?;
    if cfg.tensorboard {
        metrics = metrics.with_tensorboard(&cfg.dir.join(tensorboard::DIR))?;
    }
    let mut history = metrics.rows().to_vec();
    let mut saver = Saver::new(task.saved_model(), cfg.dir, t, &extra, &history)?;
    observer.begin(t.steps, state.step);

    let mut train_timer = 0.0;
    for step in state.step..t.steps {
        let started = Instant::now();
        device.seed(mix(cfg.seed, step));
        let lr = schedule::learning_rate(t, step);
        let (loss, correct, batch) = task.train_step(&model, step, device);
        let loss_value = loss.clone().into_scalar::<f32>() as f64;
        if !loss_value.is_finite() {
            return Ok(Outcome {
                status: Status::Diverged { step: step + 1 },
                history,
                steps_run: step + 1,
                train_seconds: state.train_seconds + train_timer,
                // Counted after training: `val()` would initialize lazy parameters here and
                // draw them from another state of the device's RNG.
                params: trainable_params(&model),
            });
        }
        let correct = correct.into_scalar::<f32>() as f64;
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(lr, model, grads);
        train_timer += started.elapsed().as_secs_f64();

        state.step = step + 1;
        state.loss_sum += loss_value * batch as f64;
        state.correct += correct;
        state.seen += batch as f64;
        observer.step(state.step, loss_value);

        if state.step % cfg.eval_every == 0 || state.step == t.steps {
            let eval = task.evaluate(&model.valid());
            let row = EvalRow {
                step: state.step,
                epoch: task.epochs(state.step),
                lr,
                train_loss: state.loss_sum / state.seen,
                train_accuracy: state.correct / state.seen,
                test_loss: eval.loss,
                test_accuracy: eval.accuracy,
                extra: eval.extra,
            };
            metrics.append(&row)?;
            // Before this step's checkpoint, so a resume from it never lacks this best.
            saver.evaluated(&row, &model)?;
            observer.evaluated(&row);
            let stop = task.stop_after(&row);
            history.push(row);
            (state.loss_sum, state.correct, state.seen) = (0.0, 0.0, 0.0);
            if stop {
                break;
            }
        }
        if t.checkpoint_every > 0 && state.step % t.checkpoint_every == 0 && state.step < t.steps {
            let mut saved = state.clone();
            saved.train_seconds += train_timer;
            let task_state = |dir: &Path| {
                task.save_state(dir)?;
                saver.describe(dir)
            };
            checkpoint::save(
                cfg.dir,
                &saved,
                &model,
                &optim,
                t.keep_checkpoints,
                &metrics.sha256(),
                &task_state,
            )?;
        }
    }
    saver.finished(state.step, &model)?;
    Ok(Outcome {
        status: Status::Done,
        history,
        steps_run: state.step,
        train_seconds: state.train_seconds + train_timer,
        params: trainable_params(&model),
    })
}
