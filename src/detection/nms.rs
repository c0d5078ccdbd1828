//! Greedy non-maximum suppression (R-CNN Section 2.2): within one class of one image, keep the
//! highest-scoring box and reject every box that overlaps a kept one by more than the
//! threshold (the paper's 0.3), then repeat with the next highest remaining box.

use super::BBox;

/// The paper's overlap threshold for test-time suppression.
pub const PAPER_THRESHOLD: f32 = 0.3;

/// Indices of the boxes kept, highest score first. A box is rejected when its IoU with an
/// already kept box is strictly above `threshold`. Equal scores keep the input order, so the
/// result is deterministic.
pub fn nms(boxes: &[BBox], scores: &[f32], threshold: f32) -> Vec<usize> {
    assert_eq!(boxes.len(), scores.len(), "one score per box");
    let mut order: Vec<usize> = (0..boxes.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let mut kept: Vec<usize> = Vec::new();
    for i in order {
        if kept.iter().all(|&k| boxes[k].iou(&boxes[i]) <= threshold) {
            kept.push(i);
        }
    }
    kept
}

/// A scored detection of one class on one image.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Detection {
    pub image: usize,
    pub class: usize,
    pub bbox: BBox,
    pub score: f32,
}

/// Greedy NMS applied separately to every (image, class) group; boxes of different classes or
/// images never suppress each other. Returns the survivors grouped by image then class, each
/// group highest score first.
pub fn nms_per_class(dets: &[Detection], threshold: f32) -> Vec<Detection> {
    let mut groups: std::collections::BTreeMap<(usize, usize), Vec<&Detection>> =
        std::collections::BTreeMap::new();
    for d in dets {
        groups.entry((d.image, d.class)).or_default().push(d);
    }
    let mut out = Vec::new();
    for group in groups.values() {
        let boxes: Vec<BBox> = group.iter().map(|d| d.bbox).collect();
        let scores: Vec<f32> = group.iter().map(|d| d.score).collect();
        out.extend(
            nms(&boxes, &scores, threshold)
                .into_iter()
                .map(|i| *group[i]),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(x1: f32, y1: f32, x2: f32, y2: f32) -> BBox {
        BBox::new(x1, y1, x2, y2)
    }

    #[test]
    fn iou_of_hand_worked_boxes() {
        let a = b(0.0, 0.0, 10.0, 10.0);
        // Half overlapping: 50 / (100 + 100 - 50).
        assert!((a.iou(&b(5.0, 0.0, 15.0, 10.0)) - 1.0 / 3.0).abs() < 1e-6);
        assert_eq!(a.iou(&a), 1.0);
        // Touching edges and disjoint boxes do not overlap.
        assert_eq!(a.iou(&b(10.0, 0.0, 20.0, 10.0)), 0.0);
        assert_eq!(a.iou(&b(30.0, 30.0, 40.0, 40.0)), 0.0);
        // Containment: 4 / 100, symmetric.
        let inner = b(2.0, 2.0, 4.0, 4.0);
        assert!((a.iou(&inner) - 0.04).abs() < 1e-6);
        assert_eq!(a.iou(&inner), inner.iou(&a));
        // Empty boxes have IoU 0, even with themselves.
        let empty = b(3.0, 3.0, 3.0, 8.0);
        assert_eq!(empty.iou(&empty), 0.0);
    }

    #[test]
    fn keeps_the_best_and_drops_overlaps_above_the_threshold() {
        // Box 1 overlaps box 0 with IoU 81/119 = 0.68; box 2 overlaps box 0 with IoU
        // 20/180 = 0.11; box 3 overlaps box 2 with IoU 0.6.
        let boxes = [
            b(0.0, 0.0, 10.0, 10.0),
            b(1.0, 1.0, 11.0, 11.0),
            b(8.0, 0.0, 18.0, 10.0),
            b(10.0, 0.0, 20.0, 10.0),
        ];
        assert!((boxes[0].iou(&boxes[1]) - 81.0 / 119.0).abs() < 1e-6);
        let kept = nms(&boxes, &[0.9, 0.8, 0.7, 0.95], 0.3);
        // Box 3 (0.95) first, suppresses box 2 (IoU 0.67); box 0 kept (IoU 0 with box 3);
        // box 1 suppressed by box 0.
        assert_eq!(kept, vec![3, 0]);
        // A threshold above every overlap keeps everything, in score order.
        assert_eq!(nms(&boxes, &[0.9, 0.8, 0.7, 0.95], 0.99), vec![3, 0, 1, 2]);
    }

    #[test]
    fn an_overlap_equal_to_the_threshold_survives() {
        // A 2x1 box and the unit square inside it: IoU exactly 1/2.
        let boxes = [b(0.0, 0.0, 2.0, 1.0), b(0.0, 0.0, 1.0, 1.0)];
        assert_eq!(boxes[0].iou(&boxes[1]), 0.5);
        assert_eq!(nms(&boxes, &[1.0, 0.5], 0.5), vec![0, 1]);
        assert_eq!(nms(&boxes, &[1.0, 0.5], 0.49), vec![0]);
    }

    #[test]
    fn classes_and_images_do_not_suppress_each_other() {
        let d = |image, class, score| Detection {
            image,
            class,
            bbox: b(0.0, 0.0, 10.0, 10.0),
            score,
        };
        let dets = [d(0, 1, 0.9), d(0, 1, 0.8), d(0, 2, 0.7), d(1, 1, 0.6)];
        let kept = nms_per_class(&dets, PAPER_THRESHOLD);
        assert_eq!(kept, vec![d(0, 1, 0.9), d(0, 2, 0.7), d(1, 1, 0.6)]);
    }

    #[test]
    fn ties_keep_the_input_order() {
        let boxes = [b(0.0, 0.0, 10.0, 10.0), b(0.0, 0.0, 10.0, 10.0)];
        assert_eq!(nms(&boxes, &[0.5, 0.5], 0.3), vec![0]);
    }
}
