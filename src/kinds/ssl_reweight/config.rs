//! The `[ssl]` section: semi-supervised learning with learned per-example weights (Ren, Yeh &
//! Schwing 2020) on top of FixMatch-style consistency (Sohn et al. 2020). FixMatch's defaults
//! where they exist (threshold 0.95, mu 7, lambda_u 1); the weight learner's follow the
//! authors' released code (github.com/jason718/semi-sup, `main.py`: `FixMatch.train_step`,
//! `compute_influence`, `grad_wrt_val_loss_batch`, `madam_update_influence` and the flags
//! `alpha` 0.01 and `inner_steps` 100), each of its choices a key.

use serde::{Deserialize, Serialize};

use crate::config::ExperimentSpec;
use crate::config::validate::{Problem, requirer};

/// How the unlabeled consistency loss is weighted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weighting {
    /// No unlabeled loss: supervised training on the labeled set only.
    None,
    /// Every confident unlabeled example weighs 1 (FixMatch).
    Uniform,
    /// One weight per unlabeled example, learned through its influence on the validation loss.
    Learned,
    /// A control: the weights are learned as with `learned`, but each example's loss is
    /// weighted by the weight of another example (a fixed random permutation of the unlabeled
    /// set), so the weights keep their distribution and lose their link to the examples.
    Shuffled,
}

/// Which examples of the unlabeled batch get a weight update.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateExamples {
    /// Every example, from its unmasked per-example loss (the authors' `loss_xeu_all`).
    All,
    /// Only those whose pseudo-label is kept (confident), as this project did before.
    Confident,
}

/// Which validation examples the validation gradient is over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidationGradient {
    /// A random batch of `train.batch_size` x `mu` validation images, drawn with replacement
    /// at each update (the authors' `grad_wrt_val_loss_batch`).
    Batch,
    /// The whole validation set, every update.
    All,
}

/// The built-in out-of-distribution source that needs no dataset: fixed images of uniform
/// random pixels, drawn from the seed.
pub const NOISE_OOD: &str = "uniform-noise";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SslSpec {
    /// Labeled training examples in all, the same number per class (100 = 10 per digit).
    pub labels: usize,
    /// Held-out labeled examples whose loss the weights are learned to lower.
    pub validation: usize,
    /// Unlabeled examples (0 = every training image not labeled or held out).
    pub unlabeled: usize,
    /// Unlabeled batch = mu x labeled batch (`train.batch_size`).
    pub mu: usize,
    /// A pseudo-label is kept when the weak view's top probability reaches this.
    pub threshold: f64,
    /// Weight of the unlabeled loss.
    pub lambda_u: f64,
    pub weighting: Weighting,
    /// Which examples of the batch get a weight update.
    pub update_examples: UpdateExamples,
    /// Adam step size, betas and epsilon of the per-example weights.
    pub weight_lr: f64,
    pub weight_beta1: f64,
    pub weight_beta2: f64,
    pub weight_epsilon: f64,
    /// Update the weights of the current batch every N training steps.
    pub update_every: u64,
    /// Added to the diagonal of the last layer's Hessian before it is inverted (1 = the
    /// Hessian of the unscaled L2 term ½‖W‖² in the authors' `loss_wd`).
    pub damping: f64,
    /// θ of the influence includes the last layer's bias (the authors': the kernel only).
    pub influence_bias: bool,
    /// What the validation gradient is over.
    pub validation_gradient: ValidationGradient,
    /// Weights are clipped to [weight_min, weight_max] after each step.
    pub weight_min: f64,
    pub weight_max: f64,
    /// Weak augmentation: shifts of up to N pixels (no flips: digits are not mirror-symmetric).
    pub weak_shift: usize,
    /// Strong augmentation: a random affine map (rotation up to +-degrees, shear, scale
    /// 1 +- scale, shift up to N pixels), then noise and contrast (each with probability 1/2),
    /// then a cutout square.
    pub strong_rotate: f64,
    pub strong_shear: f64,
    pub strong_scale: f64,
    pub strong_shift: usize,
    /// Side of the cutout square in pixels (0 = none).
    pub cutout: usize,
    /// Standard deviation of the additive Gaussian pixel noise.
    pub noise: f64,
    /// Contrast factor drawn from [1 - contrast, 1 + contrast] around the image mean.
    pub contrast: f64,
    /// Out-of-distribution images mixed into the unlabeled set: a dataset name (same image
    /// shape) or `uniform-noise`; empty = none.
    pub ood_dataset: String,
    /// Share of the unlabeled set that is out of distribution.
    pub ood_fraction: f64,
    /// Unlabeled examples whose weights are written to weights.csv at each evaluation (a fixed
    /// random subset; 0 = all).
    pub weights_log: usize,
    /// The paper's 2-D toy study instead of training a network (see [`ToySpec`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub toy: Option<ToySpec>,
}

impl Default for SslSpec {
    fn default() -> Self {
        Self {
            labels: 100,
            validation: 500,
            unlabeled: 0,
            mu: 7,
            threshold: 0.95,
            lambda_u: 1.0,
            weighting: Weighting::Learned,
            update_examples: UpdateExamples::All,
            weight_lr: 0.01,
            weight_beta1: 0.9,
            weight_beta2: 0.999,
            weight_epsilon: 1e-8,
            update_every: 100,
            damping: 1.0,
            influence_bias: false,
            validation_gradient: ValidationGradient::Batch,
            weight_min: 0.0,
            weight_max: 2.0,
            weak_shift: 2,
            strong_rotate: 30.0,
            strong_shear: 0.3,
            strong_scale: 0.2,
            strong_shift: 3,
            cutout: 10,
            noise: 0.1,
            contrast: 0.5,
            ood_dataset: String::new(),
            ood_fraction: 0.0,
            weights_log: 1000,
            toy: None,
        }
    }
}

/// The toy study: a 2-D linearly separable problem, a logistic model, pseudo-labels from the
/// labeled points alone, and weights on the pseudo-labeled points learned by influence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ToySpec {
    /// Labeled points per class.
    pub labeled_per_class: usize,
    /// Unlabeled (pseudo-labeled) points.
    pub unlabeled: usize,
    /// Labeled validation points.
    pub validation: usize,
    /// Test points for the accuracies of the three boundaries.
    pub test: usize,
    /// Points closer than this to the true boundary are redrawn (a separable margin).
    pub margin: f64,
    /// Weight updates (each on one batch of unlabeled points, the model refitted first).
    pub iterations: u64,
    /// Unlabeled points per weight update.
    pub batch: usize,
}

impl Default for ToySpec {
    fn default() -> Self {
        Self {
            labeled_per_class: 2,
            unlabeled: 400,
            validation: 40,
            test: 2000,
            margin: 0.05,
            iterations: 200,
            batch: 50,
        }
    }
}

/// Checks of the `[ssl]` section.
pub fn check(spec: &ExperimentSpec, out: &mut Vec<Problem>) {
    let Ok(s) = spec.section::<SslSpec>() else {
        return;
    };
    let s = &s;
    let mut require = requirer(out);
    let positive = |v: f64| v.is_finite() && v > 0.0;
    for (key, v) in [
        ("ssl.lambda_u", s.lambda_u),
        ("ssl.weight_lr", s.weight_lr),
        ("ssl.weight_epsilon", s.weight_epsilon),
        ("ssl.damping", s.damping),
    ] {
        require(positive(v), key, format!("must be positive, got {v}"));
    }
    for (key, v) in [
        ("ssl.weight_beta1", s.weight_beta1),
        ("ssl.weight_beta2", s.weight_beta2),
        ("ssl.ood_fraction", s.ood_fraction),
    ] {
        require(
            (0.0..1.0).contains(&v),
            key,
            format!("must be in [0, 1), got {v}"),
        );
    }
    require(
        (0.0..=1.0).contains(&s.threshold),
        "ssl.threshold",
        format!("is a probability in [0, 1], got {}", s.threshold),
    );
    require(
        s.weight_min.is_finite() && s.weight_min >= 0.0,
        "ssl.weight_min",
        format!("must be >= 0, got {}", s.weight_min),
    );
    require(
        s.weight_max.is_finite() && s.weight_max >= 1.0 && s.weight_max > s.weight_min,
        "ssl.weight_max",
        format!(
            "must be at least 1 (weights start at 1) and above weight_min, got {}",
            s.weight_max
        ),
    );
    require(s.mu > 0, "ssl.mu", "must be at least 1".into());
    require(
        s.update_every > 0,
        "ssl.update_every",
        "must be at least 1".into(),
    );
    require(
        s.validation > 0,
        "ssl.validation",
        "must be at least 1: the weights are learned on the validation loss".into(),
    );
    for (key, v) in [
        ("ssl.strong_rotate", s.strong_rotate),
        ("ssl.strong_shear", s.strong_shear),
        ("ssl.noise", s.noise),
    ] {
        require(
            v.is_finite() && v >= 0.0,
            key,
            format!("must be >= 0, got {v}"),
        );
    }
    for (key, v) in [
        ("ssl.strong_scale", s.strong_scale),
        ("ssl.contrast", s.contrast),
    ] {
        require(
            (0.0..1.0).contains(&v),
            key,
            format!("must be in [0, 1), got {v}"),
        );
    }
    require(
        s.weak_shift <= 8 && s.strong_shift <= 8,
        if s.weak_shift > 8 {
            "ssl.weak_shift"
        } else {
            "ssl.strong_shift"
        },
        "a shift is at most 8 pixels".into(),
    );
    require(
        s.ood_dataset.is_empty() == (s.ood_fraction == 0.0),
        if s.ood_dataset.is_empty() {
            "ssl.ood_fraction"
        } else {
            "ssl.ood_dataset"
        },
        "ood_dataset and ood_fraction go together: name a dataset (or `uniform-noise`) and a \
         fraction above 0, or neither"
            .into(),
    );
    if let Some(t) = &s.toy {
        require(
            t.labeled_per_class > 0,
            "ssl.toy.labeled_per_class",
            "must be at least 1".into(),
        );
        for (key, v) in [
            ("ssl.toy.unlabeled", t.unlabeled),
            ("ssl.toy.validation", t.validation),
            ("ssl.toy.test", t.test),
            ("ssl.toy.batch", t.batch),
        ] {
            require(v > 0, key, "must be at least 1".into());
        }
        require(
            t.iterations > 0,
            "ssl.toy.iterations",
            "must be at least 1".into(),
        );
        require(
            (0.0..0.5).contains(&t.margin),
            "ssl.toy.margin",
            format!("must be in [0, 0.5), got {}", t.margin),
        );
        return;
    }
    let Ok(ds) = crate::data::registry::spec(&spec.data.dataset) else {
        return;
    };
    require(
        s.labels >= ds.num_classes && s.labels % ds.num_classes == 0,
        "ssl.labels",
        format!(
            "labels are balanced over {}'s {} classes: use a positive multiple of {}, got {}",
            ds.name, ds.num_classes, ds.num_classes, s.labels
        ),
    );
    let features = spec.model.hidden.last().copied().unwrap_or(0);
    let bias = usize::from(s.influence_bias);
    let dims = ds.num_classes * (features + bias);
    require(
        dims <= MAX_HESSIAN,
        "model.hidden",
        format!(
            "the last layer's Hessian would have {dims} rows ({} classes x ({features}{})); \
             the influence solve is exact, so keep it at most {MAX_HESSIAN} (a last hidden \
             layer of at most {} units)",
            ds.num_classes,
            if s.influence_bias { " + 1" } else { "" },
            MAX_HESSIAN / ds.num_classes - bias
        ),
    );
    if !s.ood_dataset.is_empty() && s.ood_dataset != NOISE_OOD {
        match crate::data::registry::spec(&s.ood_dataset) {
            Err(e) => require(
                false,
                "ssl.ood_dataset",
                format!("{e} (or `{NOISE_OOD}` for random-pixel images)"),
            ),
            Ok(ood) => require(
                ood.format == ds.format,
                "ssl.ood_dataset",
                format!("{} images do not have the shape of {}'s", ood.name, ds.name),
            ),
        }
    }
}

/// Largest last-layer Hessian (rows) the exact Cholesky solve is allowed.
pub const MAX_HESSIAN: usize = 2000;
