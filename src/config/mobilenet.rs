//! The `[mobilenet]` section: MobileNetV2 (Sandler et al. 2018) settings, the paper's by
//! default (Table 2 rows, width 1.0, 224x224 input, linear bottlenecks, residuals between
//! bottlenecks), plus the Figure 6 ablation switches and the augmentation for small images.

use serde::{Deserialize, Serialize};

use super::validate::{Problem, section_checker};
use super::{ExperimentSpec, Kind};

/// The paper's Table 2 bottleneck rows `(t, c, n, s)`: expansion factor, output channels,
/// repeats, stride of the first repeat. The stem (3x3 conv, 32 channels, stride 2) and the
/// head (1x1 conv to 1280, average pool, classifier) are the other keys of [`MobilenetSpec`].
pub const TABLE2: [[usize; 4]; 7] = [
    [1, 16, 1, 1],
    [6, 24, 2, 2],
    [6, 32, 3, 2],
    [6, 64, 4, 2],
    [6, 96, 3, 1],
    [6, 160, 3, 2],
    [6, 320, 1, 1],
];

/// What follows the 1x1 projection of a bottleneck (Figure 6a).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BottleneckActivation {
    /// Nothing: the paper's linear bottleneck.
    Linear,
    /// ReLU6, as after the other convolutions (the ablation).
    Relu6,
}

/// Where the shortcut connections go (Figure 6b).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Residual {
    /// Between the thin bottlenecks: a block's input is added to its projection output when
    /// its stride is 1 and its input and output channels match (the paper's design).
    Bottleneck,
    /// Between the wide expansion layers: a block's expansion output is added to the next
    /// block's expansion output when both have the same width and the block's stride is 1
    /// (the classical residual layout, in the same network).
    Expansion,
    /// No shortcuts.
    None,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MobilenetSpec {
    /// Scales every layer's channels (rounded to multiples of `round_to`); the last 1x1 conv
    /// keeps at least `last_channels`.
    pub width_multiplier: f64,
    /// Input height and width; images of another size are resized (bilinear) once at load.
    pub resolution: usize,
    /// Input channels; 0 = the dataset's.
    pub in_channels: usize,
    /// Classifier outputs; 0 = the dataset's number of classes (more are allowed).
    pub classes: usize,
    /// Channels of the first 3x3 conv before the multiplier (Table 2: 32).
    pub stem_channels: usize,
    /// Stride of the first 3x3 conv (Table 2: 2).
    pub stem_stride: usize,
    /// Bottleneck rows `[t, c, n, s]` (Table 2).
    pub rows: Vec<[usize; 4]>,
    /// Channels of the last 1x1 conv before the multiplier (Table 2: 1280).
    pub last_channels: usize,
    /// Channel counts are rounded to a multiple of this (8 in the reference implementations).
    pub round_to: usize,
    pub bottleneck_activation: BottleneckActivation,
    pub residual: Residual,
    /// Dropout before the classifier (0.2 in the reference implementations).
    pub dropout: f64,
    /// Training augmentation: shift each image by up to this many pixels in each direction
    /// (zero padding, random crop); 0 = off. The paper's ImageNet crops do not apply to 28x28.
    pub random_shift: usize,
    /// Training augmentation: random horizontal flips (for natural images, not digits).
    pub random_flip: bool,
    /// Count parameters and multiply-adds only (Table 4): `runner run` trains nothing.
    pub count_only: bool,
}

impl Default for MobilenetSpec {
    fn default() -> Self {
        Self {
            width_multiplier: 1.0,
            resolution: 224,
            in_channels: 0,
            classes: 0,
            stem_channels: 32,
            stem_stride: 2,
            rows: TABLE2.to_vec(),
            last_channels: 1280,
            round_to: 8,
            bottleneck_activation: BottleneckActivation::Linear,
            residual: Residual::Bottleneck,
            dropout: 0.2,
            random_shift: 0,
            random_flip: false,
            count_only: false,
        }
    }
}

/// Checks of the `[mobilenet]` section (and of the kind/section pairing).
pub(super) fn check(spec: &ExperimentSpec, out: &mut Vec<Problem>) {
    let Some(m) = &spec.mobilenet else {
        return;
    };
    let mut require = section_checker(spec, out, "mobilenet", Kind::MobilenetV2);
    require(
        m.width_multiplier.is_finite() && m.width_multiplier > 0.0,
        "mobilenet.width_multiplier",
        format!("must be positive, got {}", m.width_multiplier),
    );
    require(
        m.resolution > 0,
        "mobilenet.resolution",
        "must be at least 1".into(),
    );
    for (key, v) in [
        ("mobilenet.stem_channels", m.stem_channels),
        ("mobilenet.stem_stride", m.stem_stride),
        ("mobilenet.last_channels", m.last_channels),
        ("mobilenet.round_to", m.round_to),
    ] {
        require(v > 0, key, "must be at least 1".into());
    }
    require(
        !m.rows.is_empty(),
        "mobilenet.rows",
        "needs at least one bottleneck row [t, c, n, s]".into(),
    );
    for (i, row) in m.rows.iter().enumerate() {
        require(
            row.iter().all(|&v| v > 0),
            &format!("mobilenet.rows.{i}"),
            format!(
                "every entry of a row [t, c, n, s] must be at least 1, got {:?}",
                row
            ),
        );
    }
    require(
        (0.0..1.0).contains(&m.dropout),
        "mobilenet.dropout",
        format!("must be in [0, 1), got {}", m.dropout),
    );
    if m.count_only {
        return;
    }
    require(
        spec.train.batch_size >= 2,
        "train.batch_size",
        "batch normalization needs a batch of at least 2: with 1 example the batch variance is \
         zero and every normalized value is 0"
            .into(),
    );
    if let Ok(ds) = crate::data::registry::spec(&spec.data.dataset) {
        require(
            m.classes == 0 || m.classes >= ds.num_classes,
            "mobilenet.classes",
            format!(
                "{} has {} classes, more than {}; use 0 (the dataset's) or at least {}",
                ds.name, ds.num_classes, m.classes, ds.num_classes
            ),
        );
        let channels = dataset_channels(ds);
        require(
            m.in_channels == 0 || m.in_channels == channels,
            "mobilenet.in_channels",
            format!(
                "{} images have {channels} channel(s); use 0 (the dataset's) or {channels}",
                ds.name
            ),
        );
    }
}

/// Channels of a registered dataset's images, known without reading it.
pub fn dataset_channels(ds: &crate::data::registry::DatasetSpec) -> usize {
    match ds.format {
        crate::data::registry::Format::Idx => 1,
        crate::data::registry::Format::Cifar10 => 3,
    }
}
