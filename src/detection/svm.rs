//! Per-class linear SVMs on region features with hard-negative mining (R-CNN Section 2.3 and
//! its released code): hinge loss plus an L2 penalty, solved by dual coordinate descent (Hsieh
//! et al. 2008, the L1-loss solver of liblinear, which R-CNN calls). As in R-CNN's code the bias
//! is an extra feature of constant value `bias_feature` (10 there) and so is penalized like the
//! weights, positives weigh `positive_weight` (2 there) times the negatives in the loss, and the
//! caller scales every feature vector by one constant so their mean norm is 20
//! ([`norm_scale`]), which is what makes the paper's `C = 0.001` meaningful.
//!
//! Mining: positives are the ground-truth boxes of the class; the negative cache is every
//! training proposal whose IoU with each ground-truth box of the class is below 0.3. Training
//! starts from a random subset of the cache; each round scores the rest of the cache with the
//! current model, adds the margin violators (score above -1) to the working set, and retrains,
//! until a round adds nothing or the round budget is spent. The working set only grows (R-CNN
//! also evicts easy negatives between rounds; keeping them costs little at this size).

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_pcg::Pcg64;

use super::BBox;

/// The paper's overlap below which a proposal is a negative for a class.
pub const PAPER_NEGATIVE_IOU: f32 = 0.3;
/// A negative scoring above this violates the margin (R-CNN's `hard_thresh`).
pub const HARD_THRESHOLD: f32 = -1.0;
/// R-CNN's target mean feature norm.
pub const FEATURE_NORM: f32 = 20.0;

/// Rows of features, row-major.
#[derive(Clone, Copy, Debug)]
pub struct Rows<'a> {
    pub data: &'a [f32],
    pub dim: usize,
}

impl<'a> Rows<'a> {
    pub fn new(data: &'a [f32], dim: usize) -> Self {
        assert!(dim > 0 && data.len().is_multiple_of(dim), "rows of {dim}");
        Self { data, dim }
    }

    pub fn len(&self) -> usize {
        self.data.len() / self.dim
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn row(&self, i: usize) -> &'a [f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }
}

/// The factor that brings the mean L2 norm of `rows` to [`FEATURE_NORM`] (1 for no rows or
/// all-zero features).
pub fn norm_scale(rows: Rows) -> f32 {
    if rows.is_empty() {
        return 1.0;
    }
    let mean = (0..rows.len())
        .map(|i| rows.row(i).iter().map(|v| v * v).sum::<f32>().sqrt() as f64)
        .sum::<f64>()
        / rows.len() as f64;
    if mean > 0.0 {
        (FEATURE_NORM as f64 / mean) as f32
    } else {
        1.0
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SvmConfig {
    /// Loss weight of a negative (liblinear's C).
    pub c: f64,
    /// A positive's loss weight is `c * positive_weight`.
    pub positive_weight: f64,
    /// Value of the constant feature that carries the bias.
    pub bias_feature: f32,
    /// Passes over the working set at most.
    pub max_epochs: usize,
    /// Stop when the projected gradient's spread (max - min) falls below this (liblinear 0.1).
    pub tolerance: f64,
}

impl Default for SvmConfig {
    /// R-CNN's settings: C = 0.001, positives weighted 2, bias feature 10.
    fn default() -> Self {
        Self {
            c: 0.001,
            positive_weight: 2.0,
            bias_feature: 10.0,
            max_epochs: 500,
            tolerance: 0.1,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct LinearSvm {
    pub weights: Vec<f32>,
    pub bias: f32,
}

impl LinearSvm {
    pub fn score(&self, x: &[f32]) -> f32 {
        self.weights.iter().zip(x).map(|(w, v)| w * v).sum::<f32>() + self.bias
    }
}

/// Trains on rows `positives` (label +1) and `negatives` (label -1) of `rows`; the visiting
/// order of each epoch comes from `seed`.
pub fn train(
    rows: Rows,
    positives: &[usize],
    negatives: &[usize],
    cfg: &SvmConfig,
    seed: u64,
) -> LinearSvm {
    let dim = rows.dim;
    let examples: Vec<(usize, f32)> = positives
        .iter()
        .map(|&i| (i, 1.0))
        .chain(negatives.iter().map(|&i| (i, -1.0)))
        .collect();
    let bias_sq = cfg.bias_feature as f64 * cfg.bias_feature as f64;
    let q: Vec<f64> = examples
        .iter()
        .map(|&(i, _)| {
            rows.row(i)
                .iter()
                .map(|&v| v as f64 * v as f64)
                .sum::<f64>()
                + bias_sq
        })
        .collect();
    let upper = |y: f32| {
        if y > 0.0 {
            cfg.c * cfg.positive_weight
        } else {
            cfg.c
        }
    };
    // w holds dim weights then the bias feature's weight, in f64 for stable updates.
    let mut w = vec![0.0f64; dim + 1];
    let mut alpha = vec![0.0f64; examples.len()];
    let mut order: Vec<usize> = (0..examples.len()).collect();
    let mut rng = Pcg64::seed_from_u64(seed);
    for _ in 0..cfg.max_epochs {
        order.shuffle(&mut rng);
        let (mut pg_max, mut pg_min) = (f64::NEG_INFINITY, f64::INFINITY);
        for &k in &order {
            let (i, y) = examples[k];
            let x = rows.row(i);
            let wx: f64 = w[..dim]
                .iter()
                .zip(x)
                .map(|(a, &b)| a * b as f64)
                .sum::<f64>()
                + w[dim] * cfg.bias_feature as f64;
            let g = y as f64 * wx - 1.0;
            let u = upper(y);
            let pg = if alpha[k] == 0.0 {
                g.min(0.0)
            } else if alpha[k] >= u {
                g.max(0.0)
            } else {
                g
            };
            pg_max = pg_max.max(pg);
            pg_min = pg_min.min(pg);
            if pg.abs() > 1e-12 && q[k] > 0.0 {
                let old = alpha[k];
                alpha[k] = (old - g / q[k]).clamp(0.0, u);
                let step = (alpha[k] - old) * y as f64;
                for (wj, &xj) in w[..dim].iter_mut().zip(x) {
                    *wj += step * xj as f64;
                }
                w[dim] += step * cfg.bias_feature as f64;
            }
        }
        if pg_max - pg_min < cfg.tolerance {
            break;
        }
    }
    LinearSvm {
        weights: w[..dim].iter().map(|&v| v as f32).collect(),
        bias: (w[dim] * cfg.bias_feature as f64) as f32,
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MiningConfig {
    pub svm: SvmConfig,
    /// Size of the random first working set of negatives.
    pub initial_negatives: usize,
    /// Mining rounds at most (each scores the cache, adds violators and retrains).
    pub rounds: usize,
}

/// One mining round: the working-set size it was trained on, then what it added.
#[derive(Clone, Debug, PartialEq)]
pub struct Round {
    pub trained_on: usize,
    /// Cache rows added after this round's training, with their scores under its model.
    pub added: Vec<(usize, f32)>,
}

#[derive(Clone, Debug)]
pub struct Mined {
    pub svm: LinearSvm,
    /// Negative rows used by the final model, in the order they entered.
    pub working: Vec<usize>,
    pub rounds: Vec<Round>,
}

/// Trains one class's SVM with hard-negative mining over the negative `cache` (rows of `rows`).
pub fn mine(
    rows: Rows,
    positives: &[usize],
    cache: &[usize],
    cfg: &MiningConfig,
    seed: u64,
) -> Mined {
    let mut shuffled = cache.to_vec();
    shuffled.shuffle(&mut Pcg64::seed_from_u64(seed));
    let mut working: Vec<usize> = shuffled
        .iter()
        .take(cfg.initial_negatives)
        .copied()
        .collect();
    let mut in_working = vec![false; rows.len()];
    for &i in &working {
        in_working[i] = true;
    }
    let mut rounds = Vec::new();
    let mut round_seed = seed;
    loop {
        round_seed = round_seed.wrapping_add(1);
        let svm = train(rows, positives, &working, &cfg.svm, round_seed);
        if rounds.len() >= cfg.rounds {
            return Mined {
                svm,
                working,
                rounds,
            };
        }
        let added: Vec<(usize, f32)> = cache
            .iter()
            .filter(|&&i| !in_working[i])
            .map(|&i| (i, svm.score(rows.row(i))))
            .filter(|&(_, s)| s > HARD_THRESHOLD)
            .collect();
        rounds.push(Round {
            trained_on: working.len(),
            added: added.clone(),
        });
        if added.is_empty() {
            return Mined {
                svm,
                working,
                rounds,
            };
        }
        for (i, _) in added {
            in_working[i] = true;
            working.push(i);
        }
    }
}

/// Indices into `proposals` of the negatives for class `class`: proposals whose IoU with every
/// ground-truth box of that class (`truth`, `(box, class)` pairs of the same image) is below
/// `max_iou`. Boxes of other classes do not matter.
pub fn negatives_for_class(
    proposals: &[BBox],
    truth: &[(BBox, usize)],
    class: usize,
    max_iou: f32,
) -> Vec<usize> {
    proposals
        .iter()
        .enumerate()
        .filter(|(_, p)| {
            truth
                .iter()
                .filter(|(_, c)| *c == class)
                .all(|(g, _)| p.iou(g) < max_iou)
        })
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    /// 40 positives around (+2, +2); 400 negatives: most far at (-3, -3), a hard band near the
    /// positives at (0.5, 0.5).
    fn blobs(seed: u64) -> (Vec<f32>, Vec<usize>, Vec<usize>) {
        let mut rng = Pcg64::seed_from_u64(seed);
        let mut data = Vec::new();
        let mut point = |cx: f32, cy: f32, spread: f32| {
            data.push(cx + rng.random_range(-spread..spread));
            data.push(cy + rng.random_range(-spread..spread));
        };
        for _ in 0..40 {
            point(2.0, 2.0, 1.0);
        }
        for k in 0..400 {
            if k % 10 == 0 {
                point(0.3, 0.3, 0.5);
            } else {
                point(-3.0, -3.0, 1.0);
            }
        }
        (data, (0..40).collect(), (40..440).collect())
    }

    fn cfg() -> MiningConfig {
        MiningConfig {
            svm: SvmConfig {
                c: 1.0,
                ..SvmConfig::default()
            },
            initial_negatives: 20,
            rounds: 5,
        }
    }

    #[test]
    fn separable_data_is_separated() {
        let (data, pos, neg) = blobs(1);
        let rows = Rows::new(&data, 2);
        let svm = train(rows, &pos, &neg, &cfg().svm, 0);
        assert!(pos.iter().all(|&i| svm.score(rows.row(i)) > 0.0));
        assert!(neg.iter().all(|&i| svm.score(rows.row(i)) < 0.0));
    }

    #[test]
    fn hard_negative_mining_invariants() {
        let (data, pos, cache) = blobs(2);
        let rows = Rows::new(&data, 2);
        let mined = mine(rows, &pos, &cache, &cfg(), 7);
        // The working set is drawn from the cache only, never holds a positive, no duplicates.
        assert!(mined.working.iter().all(|i| cache.contains(i)));
        assert!(mined.working.iter().all(|i| !pos.contains(i)));
        let mut sorted = mined.working.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), mined.working.len());
        // It grows only by violators of the previous model, each new to the working set.
        let mut size = cfg().initial_negatives;
        for round in &mined.rounds {
            assert_eq!(round.trained_on, size);
            assert!(round.added.iter().all(|&(_, s)| s > HARD_THRESHOLD));
            assert!(
                round
                    .added
                    .iter()
                    .all(|(i, _)| !mined.working[..size].contains(i))
            );
            size += round.added.len();
        }
        assert_eq!(size, mined.working.len());
        assert!(!mined.rounds.is_empty() && !mined.rounds[0].added.is_empty());
        // The final model classifies the training positives, and (mining having ended with
        // nothing to add or the budget spent) the negatives outside the working set are easy.
        assert!(pos.iter().all(|&i| mined.svm.score(rows.row(i)) > 0.0));
        if mined.rounds.last().unwrap().added.is_empty() {
            for &i in cache.iter().filter(|i| !mined.working.contains(i)) {
                assert!(mined.svm.score(rows.row(i)) <= HARD_THRESHOLD);
            }
        }
        // Deterministic for a seed.
        let again = mine(rows, &pos, &cache, &cfg(), 7);
        assert_eq!(again.svm, mined.svm);
        assert_eq!(again.working, mined.working);
    }

    #[test]
    fn negatives_are_below_the_overlap_with_every_box_of_the_class() {
        let truth = [
            (BBox::new(0.0, 0.0, 10.0, 10.0), 3),
            (BBox::new(20.0, 0.0, 30.0, 10.0), 5),
        ];
        let proposals = [
            BBox::new(0.0, 0.0, 10.0, 10.0),  // the class-3 object itself
            BBox::new(5.0, 0.0, 15.0, 10.0),  // IoU 1/3 with it
            BBox::new(7.0, 0.0, 17.0, 10.0),  // IoU 3/17 = 0.18
            BBox::new(20.0, 0.0, 30.0, 10.0), // the class-5 object: a class-3 negative
        ];
        let neg = negatives_for_class(&proposals, &truth, 3, PAPER_NEGATIVE_IOU);
        assert_eq!(neg, vec![2, 3]);
        for &i in &neg {
            assert!(proposals[i].iou(&truth[0].0) < PAPER_NEGATIVE_IOU);
        }
        assert_eq!(
            negatives_for_class(&proposals, &truth, 5, PAPER_NEGATIVE_IOU),
            vec![0, 1, 2]
        );
    }

    #[test]
    fn norm_scale_brings_the_mean_norm_to_twenty() {
        let data = [3.0, 4.0, 6.0, 8.0]; // norms 5 and 10, mean 7.5
        let s = norm_scale(Rows::new(&data, 2));
        assert!((s - 20.0 / 7.5).abs() < 1e-6);
        assert_eq!(norm_scale(Rows::new(&[0.0, 0.0], 2)), 1.0);
    }
}
