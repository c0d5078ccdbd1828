//! Per-class linear SVMs on region features with hard-negative mining (R-CNN Section 2.3 and
//! its released code): hinge loss plus an L2 penalty, solved by dual coordinate descent (Hsieh
//! et al. 2008, the L1-loss solver of liblinear, which R-CNN calls). As in R-CNN's code the bias
//! is an extra feature of constant value `bias_feature` (10 there) and so is penalized like the
//! weights, positives weigh `positive_weight` (2 there) times the negatives in the loss, and the
//! caller scales every feature vector by one constant so their mean norm is 20
//! ([`norm_scale`]), which is what makes the paper's `C = 0.001` meaningful.
//!
//! Mining: positives are the ground-truth boxes of the class; the negatives of an image are its
//! training proposals whose IoU with each ground-truth box of the class is below 0.3. Two
//! procedures ([`Procedure`]):
//! - [`Procedure::Reference`], R-CNN's rcnn_train.m: one pass over the training images. The
//!   first image adds all its negatives to the cache; each later one adds those the current
//!   model scores above -1.0001 (`hard_thresh`; the model before the first training is zero,
//!   so it scores 0 and every negative is hard). The model is retrained on the whole cache after
//!   the first image, whenever more than `retrain_limit` (2000) negatives were added since the
//!   last training, and after the last image; each training then evicts the cached negatives it
//!   scores below `evict_threshold` (-1.2), which keeps the cache near the margin.
//! - [`Procedure::Rounds`], this project's earlier procedure: start from a random subset of all
//!   negatives; each round scores the rest with the current model, adds the margin violators
//!   (score above -1) and retrains, until a round adds nothing or the round budget is spent.
//!   The working set only grows.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_pcg::Pcg64;

use super::BBox;

/// The paper's overlap below which a proposal is a negative for a class.
pub const PAPER_NEGATIVE_IOU: f32 = 0.3;
/// A negative scoring above this violates the margin (the rounds procedure, and the detections
/// written out).
pub const HARD_THRESHOLD: f32 = -1.0;
/// rcnn_train.m's `hard_thresh`: a hair below the margin, so negatives exactly on it count.
pub const REFERENCE_HARD_THRESHOLD: f32 = -1.0001;
/// rcnn_train.m's `retrain_limit`.
pub const REFERENCE_RETRAIN_LIMIT: usize = 2000;
/// rcnn_train.m's `evict_thresh`.
pub const REFERENCE_EVICT_THRESHOLD: f32 = -1.2;
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

/// How hard negatives are mined (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Procedure {
    /// rcnn_train.m: one pass over the images, retraining after more than `retrain_limit` new
    /// negatives and evicting cached negatives scoring below `evict_threshold`.
    Reference {
        retrain_limit: usize,
        evict_threshold: f32,
    },
    /// Rounds over all negatives from a random first working set of `initial_negatives`.
    Rounds {
        initial_negatives: usize,
        rounds: usize,
    },
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MiningConfig {
    pub svm: SvmConfig,
    pub procedure: Procedure,
}

/// One mining round: the working-set size it was trained on, then what it added.
#[derive(Clone, Debug, PartialEq)]
pub struct Round {
    pub trained_on: usize,
    /// Cache rows added after this round's training, with their scores under its model.
    pub added: Vec<(usize, f32)>,
}

/// One training of the reference procedure.
#[derive(Clone, Debug, PartialEq)]
pub struct Update {
    /// The image after which the model was trained.
    pub image: usize,
    /// Negatives added to the cache since the previous training.
    pub added: usize,
    /// The cached negatives it was trained on, in the order they entered.
    pub trained_on: Vec<usize>,
    /// The negatives evicted after it, with their scores under its model.
    pub evicted: Vec<(usize, f32)>,
}

#[derive(Clone, Debug)]
pub struct Mined {
    pub svm: LinearSvm,
    /// Negative rows used by the final model, in the order they entered.
    pub working: Vec<usize>,
    /// The rounds procedure's rounds (empty for the reference procedure).
    pub rounds: Vec<Round>,
    /// The reference procedure's trainings (empty for rounds).
    pub updates: Vec<Update>,
}

/// Trains one class's SVM with hard-negative mining; `images` holds each training image's
/// negatives (rows of `rows`), in the order the reference visits them.
pub fn mine(
    rows: Rows,
    positives: &[usize],
    images: &[Vec<usize>],
    cfg: &MiningConfig,
    seed: u64,
) -> Mined {
    match cfg.procedure {
        Procedure::Reference {
            retrain_limit,
            evict_threshold,
        } => mine_reference(
            rows,
            positives,
            images,
            &cfg.svm,
            retrain_limit,
            evict_threshold,
            seed,
        ),
        Procedure::Rounds {
            initial_negatives,
            rounds,
        } => {
            let cache: Vec<usize> = images.iter().flatten().copied().collect();
            mine_rounds(
                rows,
                positives,
                &cache,
                &cfg.svm,
                initial_negatives,
                rounds,
                seed,
            )
        }
    }
}

/// rcnn_train.m's loop for one class (see the module docs).
fn mine_reference(
    rows: Rows,
    positives: &[usize],
    images: &[Vec<usize>],
    svm_cfg: &SvmConfig,
    retrain_limit: usize,
    evict_threshold: f32,
    seed: u64,
) -> Mined {
    // The reference's detector starts as W = 0, B = 0.
    let mut svm = LinearSvm {
        weights: vec![0.0; rows.dim],
        bias: 0.0,
    };
    let mut cache: Vec<usize> = Vec::new();
    let mut in_cache = vec![false; rows.len()];
    let mut trained_on = Vec::new();
    let mut updates = Vec::new();
    let mut num_added = 0usize;
    for (image, negatives) in images.iter().enumerate() {
        let first_time = image == 0;
        for &i in negatives {
            // Hard under the current model (every negative of the first image), and new.
            if !in_cache[i] && (first_time || svm.score(rows.row(i)) > REFERENCE_HARD_THRESHOLD) {
                in_cache[i] = true;
                cache.push(i);
                num_added += 1;
            }
        }
        let is_last_time = image + 1 == images.len();
        if (first_time || num_added > retrain_limit || is_last_time) && !cache.is_empty() {
            svm = train(
                rows,
                positives,
                &cache,
                svm_cfg,
                seed.wrapping_add(updates.len() as u64 + 1),
            );
            trained_on = cache.clone();
            let (mut kept, mut evicted) = (Vec::new(), Vec::new());
            for &i in &cache {
                let z = svm.score(rows.row(i));
                if z < evict_threshold {
                    in_cache[i] = false;
                    evicted.push((i, z));
                } else {
                    kept.push(i);
                }
            }
            cache = kept;
            updates.push(Update {
                image,
                added: num_added,
                trained_on: trained_on.clone(),
                evicted,
            });
            num_added = 0;
        }
    }
    if updates.is_empty() {
        // No negatives at all: positives only.
        svm = train(rows, positives, &[], svm_cfg, seed.wrapping_add(1));
    }
    Mined {
        svm,
        working: trained_on,
        rounds: Vec::new(),
        updates,
    }
}

/// The rounds procedure over the negative `cache` (see the module docs).
fn mine_rounds(
    rows: Rows,
    positives: &[usize],
    cache: &[usize],
    svm_cfg: &SvmConfig,
    initial_negatives: usize,
    max_rounds: usize,
    seed: u64,
) -> Mined {
    let mut shuffled = cache.to_vec();
    shuffled.shuffle(&mut Pcg64::seed_from_u64(seed));
    let mut working: Vec<usize> = shuffled.iter().take(initial_negatives).copied().collect();
    let mut in_working = vec![false; rows.len()];
    for &i in &working {
        in_working[i] = true;
    }
    let mut rounds = Vec::new();
    let mut round_seed = seed;
    loop {
        round_seed = round_seed.wrapping_add(1);
        let svm = train(rows, positives, &working, svm_cfg, round_seed);
        if rounds.len() >= max_rounds {
            return Mined {
                svm,
                working,
                rounds,
                updates: Vec::new(),
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
                updates: Vec::new(),
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
            procedure: Procedure::Rounds {
                initial_negatives: 20,
                rounds: 5,
            },
        }
    }

    fn reference(retrain_limit: usize) -> MiningConfig {
        MiningConfig {
            procedure: Procedure::Reference {
                retrain_limit,
                evict_threshold: REFERENCE_EVICT_THRESHOLD,
            },
            ..cfg()
        }
    }

    /// The blobs' 400 negatives as 20 images of 20, in order (each image holds one or two of
    /// the hard band's negatives).
    fn images(negatives: &[usize]) -> Vec<Vec<usize>> {
        negatives.chunks(20).map(<[usize]>::to_vec).collect()
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
        let mined = mine(rows, &pos, std::slice::from_ref(&cache), &cfg(), 7);
        // The working set is drawn from the cache only, never holds a positive, no duplicates.
        assert!(mined.working.iter().all(|i| cache.contains(i)));
        assert!(mined.working.iter().all(|i| !pos.contains(i)));
        let mut sorted = mined.working.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), mined.working.len());
        // It grows only by violators of the previous model, each new to the working set.
        let mut size = 20;
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
        let again = mine(rows, &pos, std::slice::from_ref(&cache), &cfg(), 7);
        assert_eq!(again.svm, mined.svm);
        assert_eq!(again.working, mined.working);
    }

    /// Replays rcnn_train.m's rule on the record of a reference run: which trainings happen,
    /// what each adds (hard under the model before it) and evicts (easy under its own model).
    #[test]
    fn reference_mining_follows_rcnn_train() {
        let (data, pos, neg) = blobs(3);
        let rows = Rows::new(&data, 2);
        let imgs = images(&neg);
        let limit = 4;
        let cfg = reference(limit);
        let seed = 11;
        let mined = mine(rows, &pos, &imgs, &cfg, seed);
        let u = &mined.updates;
        assert!(mined.rounds.is_empty());
        // The first image's negatives all enter and are trained on at once; the last image
        // always ends with a training, whose set is the final model's.
        assert_eq!((u[0].image, &u[0].trained_on), (0, &imgs[0]));
        assert_eq!(u.last().unwrap().image, imgs.len() - 1);
        assert_eq!(mined.working, u.last().unwrap().trained_on);
        // In between, a training comes exactly when more than `limit` negatives were added.
        for k in 0..u.len() - 1 {
            let (before, after) = (&u[k], &u[k + 1]);
            // The model of training k (its seed is the mining seed plus k + 1).
            let svm = train(
                rows,
                &pos,
                &before.trained_on,
                &cfg.svm,
                seed + k as u64 + 1,
            );
            // Each training evicts exactly the cached negatives its model scores below -1.2.
            for &i in &before.trained_on {
                let z = svm.score(rows.row(i));
                let evicted = before.evicted.iter().any(|&(j, _)| j == i);
                assert_eq!(evicted, z < REFERENCE_EVICT_THRESHOLD, "row {i} score {z}");
            }
            // The next training set: what survived eviction, then the new hard negatives of
            // the images since, in order: those scoring above -1.0001 under this model.
            let mut expected: Vec<usize> = before
                .trained_on
                .iter()
                .copied()
                .filter(|i| !before.evicted.iter().any(|&(j, _)| j == *i))
                .collect();
            let mut added = 0;
            for (image, negatives) in imgs
                .iter()
                .enumerate()
                .take(after.image + 1)
                .skip(before.image + 1)
            {
                let hard: Vec<usize> = negatives
                    .iter()
                    .copied()
                    .filter(|&i| svm.score(rows.row(i)) > REFERENCE_HARD_THRESHOLD)
                    .collect();
                added += hard.len();
                expected.extend(hard);
                if image < after.image {
                    assert!(
                        added <= limit,
                        "image {image}: {added} added without a training"
                    );
                }
            }
            assert_eq!(after.trained_on, expected);
            assert_eq!(after.added, added);
            assert!(added > limit || after.image == imgs.len() - 1);
        }
        // Mining worked: retrainings between the first and the last image, eviction pruned
        // the far negatives of the first image, the final cache is much smaller than all
        // negatives yet the model separates the data.
        assert!(u.len() >= 3, "{} trainings", u.len());
        assert!(u[0].evicted.len() >= 10, "{:?}", u[0].evicted);
        assert!(mined.working.len() < neg.len() / 2);
        assert!(pos.iter().all(|&i| mined.svm.score(rows.row(i)) > 0.0));
        assert!(neg.iter().all(|&i| mined.svm.score(rows.row(i)) < 0.0));
        // Deterministic for a seed.
        let again = mine(rows, &pos, &imgs, &cfg, seed);
        assert_eq!((again.svm, again.updates), (mined.svm, mined.updates));
    }

    #[test]
    fn reference_mining_trains_on_the_first_and_last_image_under_a_large_limit() {
        let (data, pos, neg) = blobs(4);
        let rows = Rows::new(&data, 2);
        let imgs = images(&neg);
        let mined = mine(rows, &pos, &imgs, &reference(REFERENCE_RETRAIN_LIMIT), 5);
        let at: Vec<usize> = mined.updates.iter().map(|u| u.image).collect();
        assert_eq!(at, [0, imgs.len() - 1]);
        // An image without negatives (here the first) is skipped until there are some; the
        // zero model then scores every negative 0, above the hard threshold.
        let mut gap = imgs.clone();
        gap[0].clear();
        let mined = mine(rows, &pos, &gap, &reference(REFERENCE_RETRAIN_LIMIT), 5);
        assert_eq!(mined.updates.last().unwrap().image, imgs.len() - 1);
        assert!(mined.updates[0].trained_on.starts_with(&imgs[1]));
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
