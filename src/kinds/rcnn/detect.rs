//! From features to scored boxes: per-class SVMs with hard-negative mining on the training
//! canvases, per-class box regressors, then on the test canvases every proposal scored by
//! every class's SVM, moved by the class's regressor, suppressed per class by greedy NMS, and
//! evaluated by VOC07 AP.

use rayon::prelude::*;

use crate::detection::ap::{self, Scored};
use crate::detection::bbox_regression::{self, Regressor};
use crate::detection::nms::{Detection, nms_per_class};
use crate::detection::svm::{self, LinearSvm, MiningConfig, Rows};
use crate::detection::{BBox, Canvas};
use crate::util::rng::mix;

/// The regions features are computed for: every proposal of every canvas, then (for training
/// sets) every ground-truth box.
pub struct RegionSet {
    /// `(canvas, box)` per row.
    pub rows: Vec<(usize, BBox)>,
    /// The ground-truth class of a ground-truth row; `None` for a proposal.
    pub truth_class: Vec<Option<usize>>,
    /// Row range of each canvas's proposals.
    pub proposal_rows: Vec<std::ops::Range<usize>>,
}

impl RegionSet {
    pub fn new(canvases: &[Canvas], proposals: &[Vec<BBox>], with_truth: bool) -> Self {
        let mut rows = Vec::new();
        let mut truth_class = Vec::new();
        let mut proposal_rows = Vec::new();
        for (c, boxes) in proposals.iter().enumerate() {
            let start = rows.len();
            rows.extend(boxes.iter().map(|b| (c, *b)));
            truth_class.extend(std::iter::repeat_n(None, boxes.len()));
            proposal_rows.push(start..rows.len());
        }
        if with_truth {
            for (c, canvas) in canvases.iter().enumerate() {
                for o in &canvas.objects {
                    rows.push((c, o.bbox));
                    truth_class.push(Some(o.class));
                }
            }
        }
        Self {
            rows,
            truth_class,
            proposal_rows,
        }
    }
}

/// The ground-truth object of `canvas` that `b` overlaps most: `(IoU, object index)`.
pub fn best_truth(b: &BBox, canvas: &Canvas) -> Option<(f32, usize)> {
    canvas
        .objects
        .iter()
        .enumerate()
        .map(|(i, o)| (b.iou(&o.bbox), i))
        .fold(None, |acc, (iou, i)| match acc {
            Some((best, _)) if best >= iou => acc,
            _ => Some((iou, i)),
        })
}

/// Per-class SVMs, trained with hard-negative mining, and the mean size of the final working
/// sets of negatives.
pub fn train_svms(
    features: Rows,
    set: &RegionSet,
    canvases: &[Canvas],
    classes: usize,
    negative_iou: f32,
    cfg: &MiningConfig,
    seed: u64,
) -> (Vec<LinearSvm>, f64) {
    let mined: Vec<svm::Mined> = (0..classes)
        .into_par_iter()
        .map(|class| {
            let positives: Vec<usize> = (0..set.rows.len())
                .filter(|&i| set.truth_class[i] == Some(class))
                .collect();
            // Each training canvas's negatives for the class, in canvas order (the reference
            // mines image by image).
            let images: Vec<Vec<usize>> = set
                .proposal_rows
                .iter()
                .enumerate()
                .map(|(c, range)| {
                    let boxes: Vec<BBox> = set.rows[range.clone()].iter().map(|r| r.1).collect();
                    let truth: Vec<(BBox, usize)> = canvases[c]
                        .objects
                        .iter()
                        .map(|o| (o.bbox, o.class))
                        .collect();
                    svm::negatives_for_class(&boxes, &truth, class, negative_iou)
                        .into_iter()
                        .map(|i| range.start + i)
                        .collect()
                })
                .collect();
            svm::mine(features, &positives, &images, cfg, mix(seed, class as u64))
        })
        .collect();
    let mean_working =
        mined.iter().map(|m| m.working.len() as f64).sum::<f64>() / classes.max(1) as f64;
    (mined.into_iter().map(|m| m.svm).collect(), mean_working)
}

/// Per-class box regressors from the training proposals overlapping a ground truth of that
/// class by more than `min_iou` (Appendix C); `None` for a class without such proposals.
pub fn train_regressors(
    pool5: Rows,
    set: &RegionSet,
    canvases: &[Canvas],
    classes: usize,
    min_iou: f32,
    lambda: f64,
) -> Vec<Option<Regressor>> {
    let mut per_class: Vec<(Vec<f32>, Vec<[f32; 4]>)> = vec![(Vec::new(), Vec::new()); classes];
    for range in &set.proposal_rows {
        for i in range.clone() {
            let (c, p) = set.rows[i];
            if let Some((iou, g)) = best_truth(&p, &canvases[c])
                && iou > min_iou
            {
                let object = &canvases[c].objects[g];
                let (x, t) = &mut per_class[object.class];
                x.extend_from_slice(pool5.row(i));
                t.push(bbox_regression::encode(&p, &object.bbox));
            }
        }
    }
    per_class
        .into_par_iter()
        .map(|(x, t)| bbox_regression::fit(&x, pool5.dim, &t, lambda))
        .collect()
}

/// Every test proposal scored by every class's SVM (and moved by its regressor), then NMS.
pub fn detect(
    features: Rows,
    pool5: Option<Rows>,
    set: &RegionSet,
    svms: &[LinearSvm],
    regressors: &[Option<Regressor>],
    nms_threshold: f32,
) -> Vec<Detection> {
    let raw: Vec<Detection> = (0..set.rows.len())
        .into_par_iter()
        .flat_map_iter(|i| {
            let (image, proposal) = set.rows[i];
            let x = features.row(i);
            svms.iter().enumerate().map(move |(class, svm)| {
                let bbox = match (pool5, regressors.get(class)) {
                    (Some(p5), Some(Some(r))) => r.apply(&proposal, p5.row(i)),
                    _ => proposal,
                };
                Detection {
                    image,
                    class,
                    bbox,
                    score: svm.score(x),
                }
            })
        })
        .collect();
    nms_per_class(&raw, nms_threshold)
}

/// VOC07 AP per class over the test canvases (`None` for a class absent from them).
pub fn average_precisions(
    detections: &[Detection],
    canvases: &[Canvas],
    classes: usize,
) -> Vec<Option<f64>> {
    (0..classes)
        .map(|class| {
            let truth: Vec<Vec<BBox>> = canvases
                .iter()
                .map(|c| {
                    c.objects
                        .iter()
                        .filter(|o| o.class == class)
                        .map(|o| o.bbox)
                        .collect()
                })
                .collect();
            let scored: Vec<Scored> = detections
                .iter()
                .filter(|d| d.class == class)
                .map(|d| Scored {
                    image: d.image,
                    bbox: d.bbox,
                    score: d.score,
                })
                .collect();
            ap::average_precision(&scored, &truth, ap::MATCH_IOU)
        })
        .collect()
}
