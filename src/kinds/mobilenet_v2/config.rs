//! The `[mobilenet]` section: MobileNetV2 (Sandler et al. 2018) settings, the paper's by
//! default (Table 2 rows, width 1.0, 224x224 input, linear bottlenecks, residuals between
//! bottlenecks), plus the Figure 6 ablation switches and the augmentation for small images.

use serde::{Deserialize, Serialize};

use crate::config::ExperimentSpec;
use crate::config::validate::{Problem, requirer};
use crate::models::mobilenet_v2::NetConfig;
pub use crate::models::mobilenet_v2::{BottleneckActivation, Residual};

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

impl MobilenetSpec {
    /// The network these settings describe (input channels and classes come from the data).
    pub fn net(&self) -> NetConfig {
        NetConfig {
            width_multiplier: self.width_multiplier,
            resolution: self.resolution,
            stem_channels: self.stem_channels,
            stem_stride: self.stem_stride,
            rows: self.rows.clone(),
            last_channels: self.last_channels,
            round_to: self.round_to,
            bottleneck_activation: self.bottleneck_activation,
            residual: self.residual,
            dropout: self.dropout,
        }
    }
}

impl Default for MobilenetSpec {
    /// The paper's network ([`NetConfig`]'s defaults), no augmentation, trained.
    fn default() -> Self {
        let net = NetConfig::default();
        Self {
            width_multiplier: net.width_multiplier,
            resolution: net.resolution,
            in_channels: 0,
            classes: 0,
            stem_channels: net.stem_channels,
            stem_stride: net.stem_stride,
            rows: net.rows,
            last_channels: net.last_channels,
            round_to: net.round_to,
            bottleneck_activation: net.bottleneck_activation,
            residual: net.residual,
            dropout: net.dropout,
            random_shift: 0,
            random_flip: false,
            count_only: false,
        }
    }
}

/// Checks of the `[mobilenet]` section.
pub fn check(spec: &ExperimentSpec, out: &mut Vec<Problem>) {
    let Ok(m) = spec.section::<MobilenetSpec>() else {
        return;
    };
    let m = &m;
    let mut require = requirer(out);
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
