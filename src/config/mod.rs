//! Experiment specs: plain serde structs with the papers' settings as defaults, loaded from
//! TOML with `[[variant]]` overrides and `--set` edits, and validated before any training.

mod expect;
mod load;
mod locate;
pub mod memory;
mod overrides;
pub mod schema;
pub mod validate;

pub use expect::{Bound, Expect, Reference};
pub use load::{LoadedSpec, Variant, did_you_mean, load_file, load_str};
pub use overrides::Override;
pub use schema::{KindSchema, KindSection, SectionDef, Uses};
pub use validate::Problem;
// The model families a spec names are the models' own types.
pub use crate::models::classifier::Arch;
use crate::models::classifier::ClassifierConfig;
pub use crate::models::mlp::Activation;
// The randomization tests are data operations; their settings are data's own types.
pub use crate::data::corrupt::{CorruptionSpec, ImageCorruption};
use crate::models::mlp::MlpConfig;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// One fully resolved experiment: the base spec with one variant's overrides applied.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentSpec {
    pub name: String,
    /// A registered kind (`runner list`); kinds/registry.rs is the list.
    pub kind: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub seed: u64,
    /// Backend to run on: `flex` (CPU), `wgpu` or `cuda` where compiled in.
    #[serde(default = "default_device")]
    pub device: String,
    #[serde(default)]
    pub data: DataSpec,
    #[serde(default)]
    pub model: ModelSpec,
    #[serde(default)]
    pub train: TrainSpec,
    #[serde(default)]
    pub eval: EvalSpec,
    /// Randomization tests of `random_labels` / `expressivity` (Zhang et al. 2017, Sec. 2);
    /// left out of resolved specs while it is the default (other kinds never use it).
    #[serde(default, skip_serializing_if = "CorruptionSpec::is_default")]
    pub corruption: CorruptionSpec,
    /// What a run writes besides its CSV files; left out of resolved specs while it is the
    /// default.
    #[serde(default, skip_serializing_if = "OutputSpec::is_default")]
    pub output: OutputSpec,
    /// The kind's own section (`[mobilenet]`, `[ssl]`, ...) with its defaults filled in; set by
    /// the loader from the kind's schema.
    #[serde(skip)]
    pub section: Option<KindSection>,
}

impl ExperimentSpec {
    /// The kind's section read as its settings type `T`.
    pub fn section<T: DeserializeOwned>(&self) -> anyhow::Result<T> {
        let section = self
            .section
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("a {} spec without its section", self.kind))?;
        Ok(section.value.clone().try_into()?)
    }

    /// The resolved spec as one TOML table, the kind's section included.
    pub fn to_table(&self) -> anyhow::Result<toml::Table> {
        let toml::Value::Table(mut table) = toml::Value::try_from(self)? else {
            unreachable!("a struct serializes to a table")
        };
        if let Some(s) = &self.section {
            table.insert(s.name.clone(), s.value.clone());
        }
        Ok(table)
    }
}

/// The backends a spec may name; which ones a build has is `run::session::make_device`'s
/// business.
pub const DEVICES: [&str; 3] = ["flex", "wgpu", "cuda"];

/// `unknown device ...` for a name not in [`DEVICES`].
pub fn unknown_device(name: &str) -> String {
    format!("unknown device `{name}`; expected {}", DEVICES.join(", "))
}

fn default_device() -> String {
    "flex".into()
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataSpec {
    /// A registered dataset name (`runner data list`).
    pub dataset: String,
    /// Use only the first N training images (0 = all); for quick runs and tests.
    pub train_limit: usize,
    /// Use only the first N test images (0 = all).
    pub test_limit: usize,
    /// Random-crop augmentation: pad each training image by N zero pixels per side and crop a
    /// random window of the original size (a shift of up to N pixels); 0 = off.
    pub random_crop: usize,
    /// Per-image whitening (each image minus its mean, over its standard deviation), the
    /// preprocessing of Zhang et al.'s CIFAR-10 experiments; applied after any corruption.
    pub whiten: bool,
}

impl Default for DataSpec {
    fn default() -> Self {
        Self {
            dataset: "mnist-10k".into(),
            train_limit: 0,
            test_limit: 0,
            random_crop: 0,
            whiten: false,
        }
    }
}

/// A classifier; the BN paper's Figure 1 net (a fully connected one) is the default.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelSpec {
    /// Network family; everything but `mlp` is a convolutional net of Zhang et al. 2017.
    pub arch: Arch,
    /// Channel and unit multiplier of the convolutional archs (1.0 = the paper's widths).
    pub width: f64,
    /// Hidden layer widths.
    pub hidden: Vec<usize>,
    pub activation: Activation,
    /// Batch normalization before each hidden non-linearity (the layer's bias is then dropped).
    pub batch_norm: bool,
    /// Dropout probability after each hidden non-linearity.
    pub dropout: f64,
    /// Standard deviation of the Gaussian weight init; biases start at zero.
    pub init_std: f64,
}

impl ModelSpec {
    /// The fully connected net these settings describe.
    pub fn mlp(&self) -> MlpConfig {
        MlpConfig {
            hidden: self.hidden.clone(),
            activation: self.activation,
            batch_norm: self.batch_norm,
            dropout: self.dropout,
            init_std: self.init_std,
        }
    }

    /// The classifier of `arch` these settings describe.
    pub fn classifier(&self) -> ClassifierConfig {
        ClassifierConfig {
            arch: self.arch,
            width: self.width,
            mlp: self.mlp(),
        }
    }
}

impl Default for ModelSpec {
    fn default() -> Self {
        Self {
            arch: Arch::Mlp,
            width: 1.0,
            hidden: vec![100, 100, 100],
            activation: Activation::Sigmoid,
            batch_norm: false,
            dropout: 0.0,
            init_std: 0.1,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Optimizer {
    Sgd,
    Adam,
    Rmsprop,
}

/// The RMSProp update rule (`train.rmsprop_style`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RmspropStyle {
    /// `ms` from 0, `w -= lr * buf`, `buf = momentum * buf + g / (sqrt(ms) + eps)` (PyTorch,
    /// burn).
    #[default]
    Pytorch,
    /// `ms` from 1, `mom = momentum * mom + lr * g / sqrt(ms + eps)`, `w -= mom` (TensorFlow's
    /// `RMSPropOptimizer`).
    Tensorflow,
}

impl RmspropStyle {
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// A kind of parameter that `train.weight_decay` skips (`train.decay_skips`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecaySkip {
    /// BatchNorm's gamma and beta.
    BatchNorm,
    /// The weights of depthwise convs.
    Depthwise,
    /// Every bias.
    Bias,
}

impl DecaySkip {
    /// The spec's spelling.
    pub fn name(self) -> &'static str {
        match self {
            Self::BatchNorm => "batch_norm",
            Self::Depthwise => "depthwise",
            Self::Bias => "bias",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// `lr` throughout.
    Constant,
    /// `lr * gamma^(step / step_size)`.
    Step,
    /// `lr * gamma^(step / step_size)` without flooring: a smooth decay.
    Exponential,
    /// Cosine from `lr` to `min_lr` over all steps.
    Cosine,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainSpec {
    pub steps: u64,
    pub batch_size: usize,
    pub optimizer: Optimizer,
    pub lr: f64,
    /// SGD/RMSProp momentum (0 disables it); PyTorch semantics, no dampening.
    pub momentum: f64,
    pub nesterov: bool,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
    /// Adam's beta1/beta2.
    pub beta1: f64,
    pub beta2: f64,
    /// Adam/RMSProp epsilon.
    pub epsilon: f64,
    /// RMSProp's squared-gradient decay.
    pub rms_decay: f64,
    /// Whose RMSProp update rule: PyTorch's (burn's `RmsProp`) or TensorFlow's (epsilon inside
    /// the square root, mean square starting at 1, the rate inside the momentum buffer).
    #[serde(skip_serializing_if = "RmspropStyle::is_default")]
    pub rmsprop_style: RmspropStyle,
    /// Parameters `weight_decay` leaves alone (TF-slim's MobileNetV2 regularizes only the
    /// weights of regular convs and the classifier).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub decay_skips: Vec<DecaySkip>,
    pub schedule: Schedule,
    /// Steps per decay for `step` and `exponential`.
    pub step_size: u64,
    pub gamma: f64,
    /// Final rate of the cosine schedule.
    pub min_lr: f64,
    /// Write a checkpoint every N steps (0 = never).
    pub checkpoint_every: u64,
    /// Checkpoints kept per variant (older ones are deleted).
    pub keep_checkpoints: usize,
    /// The metrics.csv column that picks the variant's `best` saved model (`model/best/`).
    pub monitor: String,
    /// Whether the best value of `monitor` is its largest or its smallest.
    pub monitor_mode: MonitorMode,
}

/// Which end of the monitored metric is best.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MonitorMode {
    Max,
    Min,
}

impl Default for TrainSpec {
    fn default() -> Self {
        Self {
            steps: 50_000,
            batch_size: 60,
            optimizer: Optimizer::Sgd,
            lr: 0.1,
            momentum: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            rms_decay: 0.9,
            rmsprop_style: RmspropStyle::Pytorch,
            decay_skips: Vec::new(),
            schedule: Schedule::Constant,
            step_size: 10_000,
            gamma: 0.1,
            min_lr: 0.0,
            checkpoint_every: 5_000,
            keep_checkpoints: 2,
            monitor: "test_accuracy".into(),
            monitor_mode: MonitorMode::Max,
        }
    }
}

/// Files a run writes beside metrics.csv that nothing in runner reads back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputSpec {
    /// TensorBoard event files in `<variant>/tb/`, one scalar per metrics.csv column.
    pub tensorboard: bool,
}

impl Default for OutputSpec {
    fn default() -> Self {
        Self { tensorboard: true }
    }
}

impl OutputSpec {
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvalSpec {
    /// Evaluate on the test split every N steps (and after the last step).
    pub every: u64,
    /// The summary reports the first evaluated step reaching this test accuracy (0 = off).
    pub target_accuracy: f64,
    /// Instead of a fixed target: the best test accuracy of this variant (the BN paper's
    /// "steps to match Inception's maximum"). Empty = use `target_accuracy`.
    pub target_variant: String,
    /// Test images whose last-hidden-layer activation inputs give the percentiles.
    pub probe_images: usize,
    /// Which unit of the last hidden layer is probed.
    pub probe_unit: usize,
    /// `random_labels`: stop a variant at the first evaluation whose accuracy on the whole
    /// (un-augmented) training set reaches this fraction; 0 = run all `train.steps`.
    pub stop_at_train_accuracy: f64,
}

impl Default for EvalSpec {
    fn default() -> Self {
        Self {
            every: 500,
            target_accuracy: 0.0,
            target_variant: String::new(),
            probe_images: 1000,
            probe_unit: 0,
            stop_at_train_accuracy: 0.0,
        }
    }
}
