//! PASCAL VOC 2007 average precision, the measure of R-CNN's Table 2: detections of a class
//! over all test images sorted by score, each matched greedily to the unmatched ground-truth
//! box it overlaps most (IoU of at least 0.5, the devkit's `ov >= VOCopts.minoverlap` in
//! VOCevaldet.m), a second detection of an already matched object
//! counted as a false positive, and the precision/recall curve summarized by the 11-point
//! interpolated average (VOC07 devkit `VOCap` with `use_07_metric`).

use super::BBox;

/// VOC's overlap criterion: a detection matches when its IoU is at least this (VOCevaldet.m
/// compares `ov >= VOCopts.minoverlap`, so an overlap of exactly one half counts).
pub const MATCH_IOU: f32 = 0.5;

/// One scored box of the class being evaluated.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scored {
    pub image: usize,
    pub bbox: BBox,
    pub score: f32,
}

/// Precision and recall after each detection (in score order), and which were true positives.
#[derive(Clone, Debug, PartialEq)]
pub struct Curve {
    pub precision: Vec<f64>,
    pub recall: Vec<f64>,
    pub true_positive: Vec<bool>,
}

/// The precision/recall curve of `dets` against `truth[image]` (the ground-truth boxes of this
/// class per image). Detections are visited by descending score (ties in input order); the
/// devkit's rule decides each: find the ground truth of the same image with the largest IoU;
/// at least `iou` and not yet matched is a true positive (and marks it matched), otherwise a false
/// positive — so duplicates of a found object count against precision.
pub fn curve(dets: &[Scored], truth: &[Vec<BBox>], iou: f32) -> Curve {
    let positives: usize = truth.iter().map(Vec::len).sum();
    let mut order: Vec<usize> = (0..dets.len()).collect();
    order.sort_by(|&a, &b| dets[b].score.total_cmp(&dets[a].score).then(a.cmp(&b)));
    let mut matched: Vec<Vec<bool>> = truth.iter().map(|g| vec![false; g.len()]).collect();
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut out = Curve {
        precision: Vec::with_capacity(dets.len()),
        recall: Vec::with_capacity(dets.len()),
        true_positive: Vec::with_capacity(dets.len()),
    };
    for i in order {
        let d = &dets[i];
        let gts = truth.get(d.image).map(Vec::as_slice).unwrap_or(&[]);
        let best = gts
            .iter()
            .enumerate()
            .map(|(j, g)| (j, d.bbox.iou(g)))
            .fold(None, |acc: Option<(usize, f32)>, (j, o)| match acc {
                Some((_, bo)) if bo >= o => acc,
                _ => Some((j, o)),
            });
        let hit = match best {
            Some((j, o)) if o >= iou && !matched[d.image][j] => {
                matched[d.image][j] = true;
                true
            }
            _ => false,
        };
        if hit {
            tp += 1;
        } else {
            fp += 1;
        }
        out.true_positive.push(hit);
        out.precision.push(tp as f64 / (tp + fp) as f64);
        out.recall.push(if positives > 0 {
            tp as f64 / positives as f64
        } else {
            0.0
        });
    }
    out
}

/// The VOC07 11-point interpolated average: the mean over recall levels t = 0, 0.1, ..., 1 of
/// the highest precision at any recall >= t (0 where the curve never reaches t).
pub fn eleven_point(precision: &[f64], recall: &[f64]) -> f64 {
    (0..=10)
        .map(|k| {
            let t = k as f64 / 10.0;
            precision
                .iter()
                .zip(recall)
                .filter(|&(_, &r)| r >= t - 1e-12)
                .map(|(&p, _)| p)
                .fold(0.0, f64::max)
        })
        .sum::<f64>()
        / 11.0
}

/// AP of one class; `None` when the class has no ground truth in `truth` (VOC leaves such a
/// class out of the mean).
pub fn average_precision(dets: &[Scored], truth: &[Vec<BBox>], iou: f32) -> Option<f64> {
    if truth.iter().all(Vec::is_empty) {
        return None;
    }
    let c = curve(dets, truth, iou);
    Some(eleven_point(&c.precision, &c.recall))
}

/// Mean of the classes' APs that are defined.
pub fn mean_ap(aps: &[Option<f64>]) -> Option<f64> {
    let defined: Vec<f64> = aps.iter().flatten().copied().collect();
    (!defined.is_empty()).then(|| defined.iter().sum::<f64>() / defined.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(x: f32) -> BBox {
        BBox::new(x, 0.0, x + 10.0, 10.0)
    }

    fn det(image: usize, x: f32, score: f32) -> Scored {
        Scored {
            image,
            bbox: unit(x),
            score,
        }
    }

    #[test]
    fn all_found_before_any_mistake_is_ap_one() {
        let truth = vec![vec![unit(0.0)], vec![unit(50.0)]];
        let dets = [det(0, 0.0, 0.9), det(1, 50.0, 0.8), det(1, 0.0, 0.1)];
        assert_eq!(average_precision(&dets, &truth, MATCH_IOU), Some(1.0));
    }

    #[test]
    fn hand_worked_eleven_point_example() {
        // Four objects. Sorted detections: TP, FP, TP, FP, TP (one object never found).
        // precision/recall after each: 1/.25, .5/.25, .667/.5, .5/.5, .6/.75.
        // Recall levels 0, .1, .2 -> max precision at recall >= t is 1;
        // .3, .4, .5 -> max(.667, .5, .6) = .667; .6, .7 -> .6; .8, .9, 1.0 -> 0.
        // AP = (3*1 + 3*2/3 + 2*0.6) / 11 = 6.2 / 11.
        let truth = vec![
            vec![unit(0.0), unit(20.0)],
            vec![unit(0.0)],
            vec![unit(40.0)],
        ];
        let dets = [
            det(0, 0.0, 0.95),  // TP
            det(2, 0.0, 0.9),   // FP: no object there
            det(0, 21.0, 0.85), // TP (IoU 9/11)
            det(1, 70.0, 0.8),  // FP
            det(1, 0.0, 0.7),   // TP
        ];
        let c = curve(&dets, &truth, MATCH_IOU);
        assert_eq!(c.true_positive, [true, false, true, false, true]);
        let ap = average_precision(&dets, &truth, MATCH_IOU).unwrap();
        assert!((ap - 6.2 / 11.0).abs() < 1e-12, "{ap}");
    }

    #[test]
    fn a_duplicate_detection_is_a_false_positive() {
        let truth = vec![vec![unit(0.0)]];
        // The same object detected twice: the second (lower score) is a false positive, so
        // precision at full recall is 1 but the second point has precision 1/2.
        let dets = [det(0, 0.0, 0.9), det(0, 1.0, 0.8)];
        let c = curve(&dets, &truth, MATCH_IOU);
        assert_eq!(c.true_positive, [true, false]);
        assert_eq!(c.precision, [1.0, 0.5]);
        // AP is still 1: full recall came at precision 1.
        assert_eq!(average_precision(&dets, &truth, MATCH_IOU), Some(1.0));
        // A duplicate that outscores the true detection of another object lowers AP.
        let truth = vec![vec![unit(0.0), unit(30.0)]];
        let dets = [det(0, 0.0, 0.9), det(0, 0.0, 0.8), det(0, 30.0, 0.7)];
        // TP, FP, TP: p/r = 1/.5, .5/.5, .667/1 -> (6*1 + 5*2/3) / 11.
        let ap = average_precision(&dets, &truth, MATCH_IOU).unwrap();
        assert!((ap - (6.0 + 10.0 / 3.0) / 11.0).abs() < 1e-12, "{ap}");
    }

    #[test]
    fn overlap_of_exactly_one_half_matches() {
        // A 10x10 box against a 10x20 box containing it: IoU exactly 0.5 (100 / 200, exact in
        // f32), which the devkit's `ov >= minoverlap` counts as a match.
        let truth = vec![vec![BBox::new(0.0, 0.0, 10.0, 20.0)]];
        let dets = [det(0, 0.0, 1.0)];
        assert_eq!(dets[0].bbox.iou(&truth[0][0]), 0.5);
        assert_eq!(curve(&dets, &truth, MATCH_IOU).true_positive, [true]);
        assert_eq!(average_precision(&dets, &truth, MATCH_IOU), Some(1.0));
        // Just below one half does not: 10x10 inside 10x20.5 (IoU 100 / 205).
        let truth = vec![vec![BBox::new(0.0, 0.0, 10.0, 20.5)]];
        assert_eq!(curve(&dets, &truth, MATCH_IOU).true_positive, [false]);
    }

    #[test]
    fn classes_without_ground_truth_are_left_out_of_the_mean() {
        assert_eq!(average_precision(&[det(0, 0.0, 1.0)], &[vec![]], 0.5), None);
        assert_eq!(mean_ap(&[Some(1.0), None, Some(0.5)]), Some(0.75));
        assert_eq!(mean_ap(&[None]), None);
        // No detections at all: AP 0.
        assert_eq!(average_precision(&[], &[vec![unit(0.0)]], 0.5), Some(0.0));
    }
}
