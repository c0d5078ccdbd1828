//! The `[rcnn]` section: R-CNN (Girshick et al. 2014) on canvases of real digits. Defaults are
//! the paper's settings where they carry over (context padding scaled from 16 px at 227 to the
//! warp size, fine-tuning at 1/10 of the pre-training rate with 25% positives per batch,
//! positives at IoU >= 0.5, SVM negatives below 0.3, C = 0.001, NMS at 0.3, box regression on
//! pool5 with lambda 1000 from proposals above 0.6) and the digit-scale choices elsewhere.
//! Pre-training uses `[train]` (the ImageNet stage: whole digits of `data.dataset`).

use serde::{Deserialize, Serialize};

use crate::config::validate::{Problem, requirer};
use crate::config::{DataSpec, ExperimentSpec};
use crate::detection::canvas::CanvasConfig;
use crate::detection::selective_search::SelectiveSearchConfig;
use crate::detection::svm::{self, MiningConfig, Procedure, SvmConfig};
use crate::models::rcnn_net::Layer;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RcnnSpec {
    /// Canvases built from training digits (proposals for fine-tuning, SVMs, regressors).
    pub train_canvases: usize,
    /// Canvases built from test digits (the detection test set).
    pub test_canvases: usize,
    /// How the canvases are laid out (`detection::canvas::CanvasConfig`: `size`,
    /// `min_objects`, `max_objects`, `min_scale`, `max_scale`, `max_overlap`, `clutter`, ...).
    pub canvas: CanvasConfig,
    /// Selective search (`detection::selective_search::SelectiveSearchConfig`: `channels`,
    /// `ks`, `sigma`, `min_size`, `similarities`, `max_proposals`, `min_box_side`); fast mode by
    /// default.
    pub selective_search: SelectiveSearchConfig,
    /// Side of the square warped region fed to the CNN.
    pub warp_size: usize,
    /// Context around a proposal, in pixels of the warp (the paper's p = 16 at 227).
    pub context_padding: usize,
    /// Output channels of the three convolutions.
    pub conv_channels: [usize; 3],
    /// Units of fc6 and fc7.
    pub fc_units: usize,
    /// Dropout before fc7 and before the classifier (AlexNet's 0.5).
    pub dropout: f64,
    /// The dataset of the supervised pre-training (the paper's ImageNet stage); empty = the
    /// canvases' own `data.dataset`. Another domain (say `fashion-mnist` under digit canvases)
    /// tests how much the pre-training's closeness to the detection task matters. It must
    /// have the canvases' image shape and number of classes; `data`'s limits apply to it too.
    pub pretrain_dataset: String,
    /// Pre-training augmentation: shift each digit by up to this many pixels.
    pub pretrain_shift: usize,
    /// Fine-tune the pre-trained CNN on warped proposals (Table 2's "FT" rows).
    pub finetune: bool,
    pub finetune_steps: u64,
    /// The paper: 1/10 of the pre-training rate.
    pub finetune_lr: f64,
    /// Regions per fine-tuning batch (the paper: 128).
    pub finetune_batch: usize,
    /// Fraction of each fine-tuning batch drawn from the positives (the paper: 0.25).
    pub positive_fraction: f64,
    /// A proposal is a fine-tuning positive for its best ground truth's class at this IoU.
    pub positive_iou: f32,
    /// The layer whose features train the SVMs.
    pub feature: Layer,
    /// SVM C for negatives; positives weigh `svm_positive_weight` times more.
    pub svm_c: f64,
    pub svm_positive_weight: f64,
    /// SVM negatives: proposals below this IoU with every ground truth of the class.
    pub negative_iou: f32,
    /// Hard-negative mining: `reference` (rcnn_train.m: one pass over the training canvases,
    /// retraining after more than `retrain_limit` new hard negatives, evicting those scoring
    /// below `evict_threshold`) or `rounds` (this project's earlier procedure, from
    /// `initial_negatives` random negatives for at most `hard_negative_rounds` rounds).
    pub mining: Mining,
    /// Reference mining: retrain once more than this many negatives were added.
    pub retrain_limit: usize,
    /// Reference mining: after each training, evict cached negatives scoring below this.
    pub evict_threshold: f32,
    /// Rounds mining: size of the first random working set of negatives.
    pub initial_negatives: usize,
    /// Rounds mining: rounds at most.
    pub hard_negative_rounds: usize,
    /// Greedy NMS overlap threshold.
    pub nms_threshold: f32,
    /// Bounding-box regression (Table 2's "BB" row).
    pub bbox_regression: bool,
    /// Ridge penalty, with features scaled to mean norm 20 as for the SVMs.
    pub bbox_lambda: f64,
    /// Proposals train the regressor when their IoU with the best ground truth is above this.
    pub bbox_min_iou: f32,
    /// Test canvases drawn with their detections as PNGs.
    pub draw: usize,
    /// Detections scoring at least this are drawn. The SVM scores of a true detection sit
    /// inside the margin here (about -0.5 to 0.5: ~90 positives per class at the paper's
    /// C = 0.001, against thousands on VOC), so the default shows boxes within it.
    pub draw_min_score: f32,
}

/// The hard-negative mining procedure (`detection::svm::Procedure`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mining {
    Reference,
    Rounds,
}

impl RcnnSpec {
    /// What the pre-training reads: `data` itself, or `data` with `pretrain_dataset` in place
    /// of its dataset.
    pub fn pretrain_data(&self, data: &DataSpec) -> DataSpec {
        let mut out = data.clone();
        if !self.pretrain_dataset.is_empty() {
            out.dataset = self.pretrain_dataset.clone();
        }
        out
    }

    /// The SVM and mining settings of this section.
    pub fn mining_config(&self) -> MiningConfig {
        MiningConfig {
            svm: SvmConfig {
                c: self.svm_c,
                positive_weight: self.svm_positive_weight,
                ..SvmConfig::default()
            },
            procedure: match self.mining {
                Mining::Reference => Procedure::Reference {
                    retrain_limit: self.retrain_limit,
                    evict_threshold: self.evict_threshold,
                },
                Mining::Rounds => Procedure::Rounds {
                    initial_negatives: self.initial_negatives,
                    rounds: self.hard_negative_rounds,
                },
            },
        }
    }
}

impl Default for RcnnSpec {
    fn default() -> Self {
        Self {
            train_canvases: 300,
            test_canvases: 200,
            canvas: CanvasConfig::default(),
            selective_search: SelectiveSearchConfig::default(),
            warp_size: 32,
            context_padding: 2,
            conv_channels: [32, 64, 64],
            fc_units: 256,
            dropout: 0.5,
            pretrain_dataset: String::new(),
            pretrain_shift: 2,
            finetune: true,
            finetune_steps: 1500,
            finetune_lr: 0.001,
            finetune_batch: 128,
            positive_fraction: 0.25,
            positive_iou: 0.5,
            feature: Layer::Fc7,
            svm_c: 0.001,
            svm_positive_weight: 2.0,
            negative_iou: 0.3,
            mining: Mining::Reference,
            retrain_limit: svm::REFERENCE_RETRAIN_LIMIT,
            evict_threshold: svm::REFERENCE_EVICT_THRESHOLD,
            initial_negatives: 2000,
            hard_negative_rounds: 3,
            nms_threshold: 0.3,
            bbox_regression: true,
            bbox_lambda: 1000.0,
            bbox_min_iou: 0.6,
            draw: 4,
            draw_min_score: -0.5,
        }
    }
}

/// Checks of the `[rcnn]` section.
pub fn check(spec: &ExperimentSpec, out: &mut Vec<Problem>) {
    let Ok(r) = spec.section::<RcnnSpec>() else {
        return;
    };
    let r = &r;
    let mut require = requirer(out);
    for (key, v) in [
        ("rcnn.train_canvases", r.train_canvases),
        ("rcnn.test_canvases", r.test_canvases),
        ("rcnn.warp_size", r.warp_size),
        ("rcnn.fc_units", r.fc_units),
        ("rcnn.finetune_batch", r.finetune_batch),
    ] {
        require(v > 0, key, "must be at least 1".into());
    }
    require(
        r.conv_channels.iter().all(|&c| c > 0),
        "rcnn.conv_channels",
        format!(
            "every convolution needs a channel, got {:?}",
            r.conv_channels
        ),
    );
    if let Err(e) = r.canvas.validate() {
        require(false, "rcnn.canvas", e.to_string());
    }
    if let Err(e) = r.selective_search.validate() {
        require(false, "rcnn.selective_search", e.to_string());
    }
    require(
        2 * r.context_padding < r.warp_size,
        "rcnn.context_padding",
        format!(
            "twice the padding must leave part of the {} px warp for the region, got {}",
            r.warp_size, r.context_padding
        ),
    );
    require(
        r.warp_size >= 8,
        "rcnn.warp_size",
        format!("three 2x poolings need at least 8 px, got {}", r.warp_size),
    );
    require(
        (0.0..1.0).contains(&r.dropout),
        "rcnn.dropout",
        format!("must be in [0, 1), got {}", r.dropout),
    );
    require(
        r.finetune_lr.is_finite() && r.finetune_lr > 0.0,
        "rcnn.finetune_lr",
        format!("must be positive, got {}", r.finetune_lr),
    );
    require(
        !r.finetune || r.finetune_steps > 0,
        "rcnn.finetune_steps",
        "fine-tuning needs at least 1 step (or finetune = false)".into(),
    );
    require(
        r.positive_fraction > 0.0 && r.positive_fraction < 1.0,
        "rcnn.positive_fraction",
        format!("must be in (0, 1), got {}", r.positive_fraction),
    );
    for (key, v) in [
        ("rcnn.positive_iou", r.positive_iou),
        ("rcnn.negative_iou", r.negative_iou),
        ("rcnn.nms_threshold", r.nms_threshold),
        ("rcnn.bbox_min_iou", r.bbox_min_iou),
    ] {
        require(
            (0.0..=1.0).contains(&v),
            key,
            format!("is an IoU in [0, 1], got {v}"),
        );
    }
    require(
        r.negative_iou <= r.positive_iou,
        "rcnn.negative_iou",
        format!(
            "must not exceed positive_iou ({}), got {}",
            r.positive_iou, r.negative_iou
        ),
    );
    for (key, v) in [
        ("rcnn.svm_c", r.svm_c),
        ("rcnn.svm_positive_weight", r.svm_positive_weight),
        ("rcnn.bbox_lambda", r.bbox_lambda),
    ] {
        require(
            v.is_finite() && v > 0.0,
            key,
            format!("must be positive, got {v}"),
        );
    }
    if !r.pretrain_dataset.is_empty() {
        match (
            crate::data::registry::spec(&r.pretrain_dataset),
            crate::data::registry::spec(&spec.data.dataset),
        ) {
            (Err(e), _) => require(false, "rcnn.pretrain_dataset", e.to_string()),
            (Ok(pre), Ok(ds)) if pre.format != ds.format => require(
                false,
                "rcnn.pretrain_dataset",
                format!(
                    "{} images do not have the image shape of the canvases' {}, which the \
                     pre-trained net's first layer must fit",
                    pre.name, ds.name
                ),
            ),
            (Ok(pre), Ok(ds)) => require(
                pre.num_classes == ds.num_classes,
                "rcnn.pretrain_dataset",
                format!(
                    "{} has {} classes and the canvases' {} {}; the pre-trained net's \
                     classifier must fit both",
                    pre.name, pre.num_classes, ds.name, ds.num_classes
                ),
            ),
            // A bad data.dataset is reported under its own key.
            (Ok(_), Err(_)) => {}
        }
    }
    require(
        r.retrain_limit >= 1,
        "rcnn.retrain_limit",
        format!(
            "must be at least 1 new negative between trainings (the reference: {}), got {}",
            svm::REFERENCE_RETRAIN_LIMIT,
            r.retrain_limit
        ),
    );
    // Evicting at or above the hard threshold would drop negatives inside the margin, the
    // support vectors the next training needs.
    require(
        r.evict_threshold.is_finite() && r.evict_threshold < svm::REFERENCE_HARD_THRESHOLD,
        "rcnn.evict_threshold",
        format!(
            "must be a score below the hard-negative threshold {} (the reference: {}), got {}",
            svm::REFERENCE_HARD_THRESHOLD,
            svm::REFERENCE_EVICT_THRESHOLD,
            r.evict_threshold
        ),
    );
    require(
        r.draw_min_score.is_finite(),
        "rcnn.draw_min_score",
        format!("must be a finite score, got {}", r.draw_min_score),
    );
    require(
        r.draw <= r.test_canvases,
        "rcnn.draw",
        format!(
            "cannot draw more than the {} test canvases, got {}",
            r.test_canvases, r.draw
        ),
    );
}
