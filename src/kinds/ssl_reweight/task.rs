//! FixMatch-style training with per-example weights on the unlabeled loss, as a [`Task`] of the
//! common loop. A step: a weakly augmented labeled batch (cross-entropy), and an unlabeled
//! batch `mu` times larger whose weak view gives pseudo-labels (kept at confidence >=
//! threshold) that the strong view is trained towards, each example's loss times its weight.
//! With learned weights, every `update_every` steps the weights of the batch's examples (all
//! of them, or only the confident ones) take one Adam step down their influence on the
//! validation loss (see `influence`); the step's loss uses the weights from before that
//! update, as the authors' `train_step` does (its `w_match` is read first).
//!
//! The last layer's Hessian is built from the examples of the current step's loss (the labeled
//! batch and the confident strong views, each with its coefficient in the loss), since the
//! influence describes a change to this objective; the validation gradient is over a random
//! validation batch or the whole validation set. Each update writes what it did per group of
//! pseudo-labels (right, wrong, out of distribution) to `influence.csv`.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use burn::prelude::*;
use burn::tensor::activation::softmax;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_pcg::Pcg64;
use serde::{Deserialize, Serialize};

use super::config::{SslSpec, UpdateExamples, ValidationGradient, Weighting};
use super::influence::{Hessian, SavedWeights, WeightLearner, add_gradient, dot_gradient};
use crate::config::ExperimentSpec;
use crate::data::Split;
use crate::data::augment::{Augment, StrongAugment};
use crate::models::mlp::{Mlp, MlpConfig};
use crate::train::batches::BatchOrder;
use crate::train::classify::{chunks, count_correct, cross_entropy, evaluate_batches};
use crate::train::saved_model::{ModelConfig, Net};
use crate::train::{Evaluation, Task};
use crate::util::rng::mix;

const LABELED_STREAM: u64 = 0x004c_4142_454c; // "LABEL"
const UNLABELED_STREAM: u64 = 0x0055_4e4c_4142; // "UNLAB"
const AUGMENT_STREAM: u64 = 0x4155_474d; // "AUGM"
const LOG_STREAM: u64 = 0x004c_4f47; // "LOG"
const VALIDATION_STREAM: u64 = 0x5641_4c49; // "VALI"
const SHUFFLE_STREAM: u64 = 0x5348_5546; // "SHUF"
/// Images per inference batch.
const EVAL_CHUNK: usize = 500;
const STATE_FILE: &str = "ssl_state.json";
pub const WEIGHTS_CSV: &str = "weights.csv";
pub const INFLUENCE_CSV: &str = "influence.csv";
const WEIGHTS_HEADER: &str =
    "step,example,source,is_ood,true_label,pseudo_label,correct,weight,updates";
/// One row per weight update and group of this batch's pseudo-labels (`right`, `wrong`,
/// `ood`): how many examples, how many of them confident, the mean and the share positive of
/// their influence (dL_val/dw up to a positive factor: positive lowers the weight), and their
/// mean weight after the update.
const INFLUENCE_HEADER: &str =
    "step,group,examples,confident,mean_influence,positive_share,mean_weight";

/// The kind's metrics columns: over the unlabeled batches since the previous evaluation, the
/// share of confident pseudo-labels and how many of those (in-distribution) were right; over
/// every unlabeled example that has had a confident pseudo-label, the mean weight of those
/// whose last pseudo-label was right, wrong, or that are out of distribution.
pub const EXTRA: [&str; 6] = [
    "mask_rate",
    "pseudo_label_accuracy",
    "pseudo_labeled",
    "mean_weight_correct",
    "mean_weight_wrong",
    "mean_weight_ood",
];

/// The unlabeled set as the task sees it.
pub struct Unlabeled {
    pub images: Split,
    /// Index of each image in its source: the training split, or the OOD source.
    pub source: Vec<usize>,
    pub is_ood: Vec<bool>,
}

/// What a checkpoint keeps besides the model: the weights with their Adam state, the last
/// confident pseudo-label of each unlabeled example, and the counts accumulated since the
/// last evaluation.
#[derive(Clone, Debug, PartialEq)]
struct State {
    step: u64,
    learner: WeightLearner,
    pseudo: Vec<Option<u8>>,
    seen: f64,
    confident: f64,
    confident_in_distribution: f64,
    confident_correct: f64,
}

/// [`State`] as written to `ssl_state.json` (the counts are whole numbers, exact in JSON).
#[derive(Serialize, Deserialize)]
struct SavedState {
    step: u64,
    weights: SavedWeights,
    pseudo: Vec<Option<u8>>,
    seen: f64,
    confident: f64,
    confident_in_distribution: f64,
    confident_correct: f64,
}

pub struct SslTask {
    saved: ModelConfig,
    model: MlpConfig,
    /// Labeled images per step (`train.batch_size`).
    batch: usize,
    s: SslSpec,
    seed: u64,
    classes: usize,
    labeled: Split,
    validation: Split,
    unlabeled: Unlabeled,
    test: Split,
    labeled_order: BatchOrder,
    unlabeled_order: BatchOrder,
    weak: Augment,
    strong: StrongAugment,
    state: State,
    /// Unlabeled examples written to weights.csv.
    logged: Vec<usize>,
    /// Whose weight each unlabeled example's loss is multiplied by: itself, or another example
    /// (a fixed permutation) in the shuffled-weights control.
    applied: Vec<usize>,
    dir: PathBuf,
    weights_csv: Option<File>,
    influence_csv: Option<File>,
    /// The step this process started from (0, or the checkpoint's).
    start_step: u64,
    /// A failure to write weights.csv, reported when training ends.
    pub log_error: Option<anyhow::Error>,
    eval_device: Device,
}

impl SslTask {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        spec: &ExperimentSpec,
        classes: usize,
        labeled: Split,
        validation: Split,
        unlabeled: Unlabeled,
        test: Split,
        dir: &Path,
        eval_device: Device,
    ) -> Self {
        let s: SslSpec = spec.section().unwrap_or_default();
        let b = spec.train.batch_size;
        let n = unlabeled.images.n;
        let mut logged: Vec<usize> = (0..n).collect();
        if s.weights_log > 0 && s.weights_log < n {
            logged.shuffle(&mut Pcg64::seed_from_u64(mix(spec.seed, LOG_STREAM)));
            logged.truncate(s.weights_log);
            logged.sort_unstable();
        }
        let mut applied: Vec<usize> = (0..n).collect();
        if s.weighting == Weighting::Shuffled {
            applied.shuffle(&mut Pcg64::seed_from_u64(mix(spec.seed, SHUFFLE_STREAM)));
        }
        let saved = ModelConfig::new(
            spec,
            Net::Mlp {
                mlp: spec.model.mlp(),
            },
            [test.channels, test.height, test.width],
            classes,
            None,
            EVAL_CHUNK,
        );
        Self {
            saved,
            labeled_order: BatchOrder::new(labeled.n, b, mix(spec.seed, LABELED_STREAM)),
            unlabeled_order: BatchOrder::new(n, b * s.mu, mix(spec.seed, UNLABELED_STREAM)),
            weak: Augment {
                max_shift: s.weak_shift,
                flip: false,
            },
            strong: StrongAugment {
                rotate_degrees: s.strong_rotate,
                shear: s.strong_shear,
                scale: s.strong_scale,
                shift: s.strong_shift,
                noise: s.noise,
                contrast: s.contrast,
                cutout: s.cutout,
            },
            state: State {
                step: 0,
                learner: WeightLearner::new(
                    n,
                    s.weight_lr,
                    (s.weight_beta1, s.weight_beta2),
                    s.weight_epsilon,
                    (s.weight_min, s.weight_max),
                ),
                pseudo: vec![None; n],
                seen: 0.0,
                confident: 0.0,
                confident_in_distribution: 0.0,
                confident_correct: 0.0,
            },
            model: spec.model.mlp(),
            batch: b,
            s,
            seed: spec.seed,
            classes,
            labeled,
            validation,
            unlabeled,
            test,
            logged,
            applied,
            dir: dir.to_path_buf(),
            weights_csv: None,
            influence_csv: None,
            start_step: 0,
            log_error: None,
            eval_device,
        }
    }

    pub fn weights(&self) -> &WeightLearner {
        &self.state.learner
    }

    pub fn unlabeled(&self) -> &Unlabeled {
        &self.unlabeled
    }

    /// Images `idx` of `split` (augmented as asked) as `[batch, pixels]` values.
    fn images(split: &Split, idx: &[usize], view: View, rng: &mut Pcg64) -> Vec<f32> {
        let len = split.image_len();
        let mut out = vec![0.0f32; idx.len() * len];
        let (c, h, w) = (split.channels, split.height, split.width);
        for (dst, &i) in out.chunks_exact_mut(len).zip(idx) {
            match view {
                View::Weak(a) => a.apply(split.image(i), dst, c, h, w, rng),
                View::Strong(a) => a.apply(split.image(i), dst, c, h, w, rng),
            }
        }
        out
    }

    /// Probabilities and last-hidden features of `images` (`n` rows) in inference mode.
    fn infer(&self, model: &Mlp, images: Vec<f32>, n: usize) -> (Vec<f32>, Vec<f32>) {
        let len = images.len() / n.max(1);
        let out = model.forward(Tensor::from_data(
            TensorData::new(images, [n, len]),
            &self.eval_device,
        ));
        (to_vec(softmax(out.logits, 1)), to_vec(out.features))
    }

    /// The gradient of the mean validation loss w.r.t. θ: over a random batch of `b·mu`
    /// validation images (drawn with replacement from this step's seed) or the whole set.
    fn validation_gradient(&self, model: &Mlp, step: u64, width: usize) -> Vec<f64> {
        let (k, d) = (self.classes, self.features());
        let n_val = self.validation.n;
        let idx: Vec<usize> = match self.s.validation_gradient {
            ValidationGradient::All => (0..n_val).collect(),
            ValidationGradient::Batch => {
                let mut rng = Pcg64::seed_from_u64(mix(self.seed ^ VALIDATION_STREAM, step));
                let n = self.batch * self.s.mu;
                (0..n)
                    .map(|_| rand::Rng::random_range(&mut rng, 0..n_val))
                    .collect()
            }
        };
        let mut g = vec![0.0; k * width];
        for chunk in idx.chunks(EVAL_CHUNK) {
            let pixels = Self::images(
                &self.validation,
                chunk,
                View::Weak(Augment::default()),
                &mut Pcg64::seed_from_u64(0),
            );
            let (p, h) = self.infer(model, pixels, chunk.len());
            for (r, &i) in chunk.iter().enumerate() {
                add_gradient(
                    &mut g,
                    1.0 / idx.len() as f64,
                    &f64s(&h[r * d..][..d]),
                    &f64s(&p[r * k..][..k]),
                    self.validation.labels[i] as usize,
                    self.s.influence_bias,
                );
            }
        }
        g
    }

    fn features(&self) -> usize {
        self.model.hidden.last().copied().unwrap_or(0)
    }

    /// One Adam step for the weights of the batch's examples `ui[r]` (all, or the confident
    /// ones), from their influence on the validation loss through the last layer; `loss_w[r]`
    /// is the weight example r has in this step's loss (0 where its pseudo-label is not kept).
    #[allow(clippy::too_many_arguments)]
    fn update_weights(
        &mut self,
        model: &Mlp,
        step: u64,
        labeled: (&[f32], &[f32], &[usize]),
        strong: (&[f32], &[f32]),
        ui: &[usize],
        pseudo: &[usize],
        mask: &[bool],
        loss_w: &[f32],
    ) {
        let (k, d, bias) = (self.classes, self.features(), self.s.influence_bias);
        let g_val = self.validation_gradient(model, step, d + usize::from(bias));
        let mut hessian = Hessian::new(k, d, bias);
        let (lp, lh, ly) = (f64s(labeled.0), f64s(labeled.1), labeled.2);
        for r in 0..ly.len() {
            hessian.add(1.0 / ly.len() as f64, &lh[r * d..][..d], &lp[r * k..][..k]);
        }
        let (sp, sh) = (f64s(strong.0), f64s(strong.1));
        let coef = self.s.lambda_u / ui.len() as f64;
        for (r, &w) in loss_w.iter().enumerate() {
            if w > 0.0 {
                hessian.add(coef * w as f64, &sh[r * d..][..d], &sp[r * k..][..k]);
            }
        }
        // A singular Hessian leaves the weights alone for this step.
        let Ok(v) = hessian.solve(self.s.damping, &g_val) else {
            return;
        };
        // Per group (right, wrong, ood): examples, confident, influence sum, positive, weights.
        let mut groups = [(0usize, 0usize, 0.0f64, 0usize, 0.0f64); 3];
        for (r, &i) in ui.iter().enumerate() {
            if self.s.update_examples == UpdateExamples::Confident && !mask[r] {
                continue;
            }
            // dL_val/dw_i divided by the example's positive coefficient in the loss, as the
            // authors' `compute_influence` gives it (Adam on the weights is scale-free).
            let influence =
                -dot_gradient(&v, &sh[r * d..][..d], &sp[r * k..][..k], pseudo[r], bias);
            self.state.learner.step(i, influence);
            let group = if self.unlabeled.is_ood[i] {
                2
            } else if pseudo[r] == self.unlabeled.images.labels[i] as usize {
                0
            } else {
                1
            };
            let g = &mut groups[group];
            g.0 += 1;
            g.1 += usize::from(mask[r]);
            g.2 += influence;
            g.3 += usize::from(influence > 0.0);
            g.4 += self.state.learner.weights[i];
        }
        let mut text = String::new();
        for (name, (n, confident, sum, positive, weights)) in
            ["right", "wrong", "ood"].iter().zip(groups)
        {
            if n > 0 {
                let n_f = n as f64;
                text += &format!(
                    "{},{name},{n},{confident},{:e},{},{}\n",
                    step + 1,
                    sum / n_f,
                    positive as f64 / n_f,
                    weights / n_f
                );
            }
        }
        if self.log_error.is_none()
            && let Err(e) = append(
                &self.dir,
                INFLUENCE_CSV,
                INFLUENCE_HEADER,
                self.start_step,
                &mut self.influence_csv,
                &text,
            )
        {
            self.log_error = Some(e);
        }
    }

    fn log_weights(&mut self) -> anyhow::Result<()> {
        let mut text = String::new();
        for &i in &self.logged {
            let ood = self.unlabeled.is_ood[i];
            let truth = self.unlabeled.images.labels[i];
            let pseudo = self.state.pseudo[i];
            let w = &self.state.learner;
            text += &format!(
                "{},{i},{},{},{},{},{},{},{}\n",
                self.state.step,
                self.unlabeled.source[i],
                u8::from(ood),
                if ood {
                    String::new()
                } else {
                    truth.to_string()
                },
                pseudo.map(|p| p.to_string()).unwrap_or_default(),
                pseudo
                    .map(|p| u8::from(!ood && p == truth).to_string())
                    .unwrap_or_default(),
                w.weights[i],
                w.steps[i],
            );
        }
        append(
            &self.dir,
            WEIGHTS_CSV,
            WEIGHTS_HEADER,
            self.start_step,
            &mut self.weights_csv,
            &text,
        )
    }

    /// Mean weights of the examples with a confident pseudo-label so far: (count, right,
    /// wrong, out of distribution); NaN where a group is empty.
    fn weight_means(&self) -> (f64, f64, f64, f64) {
        let mut sums = [(0.0, 0usize); 3];
        for (i, p) in self.state.pseudo.iter().enumerate() {
            let Some(p) = p else { continue };
            let group = if self.unlabeled.is_ood[i] {
                2
            } else if *p == self.unlabeled.images.labels[i] {
                0
            } else {
                1
            };
            sums[group].0 += self.state.learner.weights[i];
            sums[group].1 += 1;
        }
        let mean = |(s, n): (f64, usize)| if n == 0 { f64::NAN } else { s / n as f64 };
        (
            sums.iter().map(|g| g.1).sum::<usize>() as f64,
            mean(sums[0]),
            mean(sums[1]),
            mean(sums[2]),
        )
    }
}

/// Appends `text` to the CSV `name` in `dir`, opened once per process (`file` keeps it):
/// rows after the step this process starts from (written before a kill, and about to be
/// written again) are dropped first, so a resumed run writes the same bytes.
fn append(
    dir: &Path,
    name: &str,
    header: &str,
    start_step: u64,
    file: &mut Option<File>,
    text: &str,
) -> anyhow::Result<()> {
    if file.is_none() {
        let path = dir.join(name);
        let kept: Vec<String> = match fs::read_to_string(&path) {
            Ok(text) => text
                .lines()
                .skip(1)
                .filter(|l| {
                    l.split(',')
                        .next()
                        .and_then(|s| s.parse::<u64>().ok())
                        .is_some_and(|s| s <= start_step)
                })
                .map(str::to_string)
                .collect(),
            Err(_) => Vec::new(),
        };
        let mut f = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        writeln!(f, "{header}")?;
        for l in kept {
            writeln!(f, "{l}")?;
        }
        drop(f);
        *file = Some(OpenOptions::new().append(true).open(&path)?);
    }
    let f = file.as_mut().expect("just opened");
    f.write_all(text.as_bytes())?;
    f.flush()?;
    Ok(())
}

fn f64s(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

#[derive(Clone, Copy)]
enum View {
    Weak(Augment),
    Strong(StrongAugment),
}

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("f32 values")
}

fn rows(values: Vec<f32>, n: usize, device: &Device) -> Tensor<2> {
    let len = values.len() / n.max(1);
    Tensor::from_data(TensorData::new(values, [n, len]), device)
}

fn classes_of(idx: &[usize], split: &Split, device: &Device) -> Tensor<1, Int> {
    let labels: Vec<i64> = idx.iter().map(|&i| split.labels[i] as i64).collect();
    Tensor::from_data(TensorData::new(labels, [idx.len()]), device)
}

impl Task for SslTask {
    type Model = Mlp;

    fn extra_metrics(&self) -> Vec<String> {
        EXTRA.iter().map(|s| s.to_string()).collect()
    }

    fn init(&self, device: &Device) -> Mlp {
        Mlp::new(&self.model, self.labeled.image_len(), self.classes, device)
    }

    fn train_step(
        &mut self,
        model: &Mlp,
        step: u64,
        device: &Device,
    ) -> (Tensor<1>, Tensor<1>, usize) {
        let li = self.labeled_order.batch(step);
        let b = li.len();
        let mut rng = Pcg64::seed_from_u64(mix(self.seed ^ AUGMENT_STREAM, step));
        let xl = Self::images(&self.labeled, &li, View::Weak(self.weak), &mut rng);
        let yl = classes_of(&li, &self.labeled, device);
        self.state.step = step + 1;
        if self.s.weighting == Weighting::None {
            let logits = model.forward(rows(xl, b, device)).logits;
            let correct = count_correct(logits.clone(), yl.clone());
            return (cross_entropy(logits, yl).mean(), correct, b);
        }

        let ui = self.unlabeled_order.batch(step);
        let u = ui.len();
        let xw = Self::images(&self.unlabeled.images, &ui, View::Weak(self.weak), &mut rng);
        let xs = Self::images(
            &self.unlabeled.images,
            &ui,
            View::Strong(self.strong),
            &mut rng,
        );
        // Pseudo-labels from the weak view, without gradients.
        let inference = model.valid();
        let (pw, _) = self.infer(&inference, xw, u);
        let k = self.classes;
        let (mut pseudo, mut mask) = (Vec::with_capacity(u), Vec::with_capacity(u));
        for (r, &i) in ui.iter().enumerate() {
            let p = &pw[r * k..][..k];
            let (best, conf) =
                p.iter().enumerate().fold(
                    (0, f32::NEG_INFINITY),
                    |a, (c, &v)| if v > a.1 { (c, v) } else { a },
                );
            let confident = conf as f64 >= self.s.threshold;
            pseudo.push(best);
            mask.push(confident);
            self.state.seen += 1.0;
            if confident {
                self.state.confident += 1.0;
                self.state.pseudo[i] = Some(best as u8);
                if !self.unlabeled.is_ood[i] {
                    self.state.confident_in_distribution += 1.0;
                    if best as u8 == self.unlabeled.images.labels[i] {
                        self.state.confident_correct += 1.0;
                    }
                }
            }
        }

        // The weights of this step's loss, read before this step's update (the authors'
        // `w_match`).
        let coefs: Vec<f32> = ui
            .iter()
            .zip(&mask)
            .map(|(&i, &m)| {
                if m {
                    self.state.learner.weights[self.applied[i]] as f32
                } else {
                    0.0
                }
            })
            .collect();
        let mut both = xl;
        both.extend(xs);
        let out = model.forward(rows(both, b + u, device));
        let logits_l = out.logits.clone().slice([0..b, 0..k]);
        let logits_s = out.logits.clone().slice([b..b + u, 0..k]);
        let learned = matches!(self.s.weighting, Weighting::Learned | Weighting::Shuffled);
        if learned
            && step.is_multiple_of(self.s.update_every)
            && (self.s.update_examples == UpdateExamples::All || mask.iter().any(|&m| m))
        {
            let p = to_vec(softmax(out.logits.clone().detach(), 1));
            let h = to_vec(out.features.clone().detach());
            let d = h.len() / (b + u);
            let (lp, sp) = p.split_at(b * k);
            let (lh, sh) = h.split_at(b * d);
            let labels: Vec<usize> = li
                .iter()
                .map(|&i| self.labeled.labels[i] as usize)
                .collect();
            self.update_weights(
                &inference,
                step,
                (lp, lh, &labels),
                (sp, sh),
                &ui,
                &pseudo,
                &mask,
                &coefs,
            );
        }
        let w = Tensor::<1>::from_data(TensorData::new(coefs, [u]), device);
        let targets: Vec<i64> = pseudo.iter().map(|&c| c as i64).collect();
        let targets = Tensor::<1, Int>::from_data(TensorData::new(targets, [u]), device);
        let unlabeled_loss = (cross_entropy(logits_s, targets) * w)
            .sum()
            .div_scalar(u as f32)
            .mul_scalar(self.s.lambda_u as f32);
        let correct = count_correct(logits_l.clone(), yl.clone());
        let loss = cross_entropy(logits_l, yl).mean() + unlabeled_loss;
        (loss, correct, b)
    }

    fn evaluate(&mut self, model: &Mlp) -> Evaluation {
        let test = evaluate_batches(chunks(&self.test, EVAL_CHUNK, &self.eval_device), |x| {
            model.forward(x.flatten::<2>(1, 3)).logits
        });
        let st = &self.state;
        let (labeled, right, wrong, ood) = self.weight_means();
        let extra = vec![
            st.confident / st.seen,
            st.confident_correct / st.confident_in_distribution,
            labeled,
            right,
            wrong,
            ood,
        ];
        (
            self.state.seen,
            self.state.confident,
            self.state.confident_in_distribution,
            self.state.confident_correct,
        ) = (0.0, 0.0, 0.0, 0.0);
        if self.s.weighting != Weighting::None
            && self.log_error.is_none()
            && let Err(e) = self.log_weights()
        {
            self.log_error = Some(e);
        }
        Evaluation { extra, ..test }
    }

    fn saved_model(&self) -> Option<ModelConfig> {
        Some(self.saved.clone())
    }

    fn epochs(&self, steps: u64) -> f64 {
        match self.s.weighting {
            Weighting::None => self.labeled_order.epochs(steps),
            _ => self.unlabeled_order.epochs(steps),
        }
    }

    fn save_state(&self, dir: &Path) -> anyhow::Result<()> {
        let st = &self.state;
        let saved = SavedState {
            step: st.step,
            weights: st.learner.saved(),
            pseudo: st.pseudo.clone(),
            seen: st.seen,
            confident: st.confident,
            confident_in_distribution: st.confident_in_distribution,
            confident_correct: st.confident_correct,
        };
        fs::write(dir.join(STATE_FILE), serde_json::to_vec(&saved)?)?;
        Ok(())
    }

    fn load_state(&mut self, dir: &Path) -> anyhow::Result<()> {
        let path = dir.join(STATE_FILE);
        let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let saved: SavedState = serde_json::from_slice(&bytes)
            .map_err(|e| crate::user_error!("corrupt checkpoint state {}: {e}", path.display()))?;
        if saved.pseudo.len() != self.state.pseudo.len() {
            crate::bail_user!(
                "{} holds {} weights, this run has {} unlabeled examples",
                path.display(),
                saved.pseudo.len(),
                self.state.pseudo.len()
            );
        }
        let st = &mut self.state;
        st.learner.restore(&saved.weights)?;
        st.step = saved.step;
        st.pseudo = saved.pseudo;
        st.seen = saved.seen;
        st.confident = saved.confident;
        st.confident_in_distribution = saved.confident_in_distribution;
        st.confident_correct = saved.confident_correct;
        self.start_step = saved.step;
        Ok(())
    }
}
