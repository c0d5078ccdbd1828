//! The semi-supervised splits of a classification training set, fixed by the seed: a labeled
//! set balanced over the classes, a held-out validation set, and the unlabeled rest; plus
//! out-of-distribution images mixed into the unlabeled set.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

use crate::bail_user;
use crate::data::Split;
use crate::util::rng::mix;

const SPLIT_STREAM: u64 = 0x0053_504c_4954; // "SPLIT"
const OOD_STREAM: u64 = 0x004f_4f44; // "OOD"

/// Indices into the training split, disjoint, each sorted.
#[derive(Clone, Debug, PartialEq)]
pub struct SslSplits {
    pub labeled: Vec<usize>,
    pub validation: Vec<usize>,
    pub unlabeled: Vec<usize>,
}

/// `labels / classes` examples of every class, then `validation` of the rest at random, then
/// the unlabeled set (`unlabeled` of what is left, or all of it for 0).
pub fn split(
    train_labels: &[u8],
    classes: usize,
    labels: usize,
    validation: usize,
    unlabeled: usize,
    seed: u64,
) -> anyhow::Result<SslSplits> {
    let per_class = labels / classes;
    let mut order: Vec<usize> = (0..train_labels.len()).collect();
    order.shuffle(&mut Pcg64::seed_from_u64(mix(seed, SPLIT_STREAM)));
    let mut taken = vec![0usize; classes];
    let (mut labeled, mut rest) = (Vec::new(), Vec::new());
    for i in order {
        let c = train_labels[i] as usize;
        if taken[c] < per_class {
            taken[c] += 1;
            labeled.push(i);
        } else {
            rest.push(i);
        }
    }
    if let Some(c) = taken.iter().position(|&t| t < per_class) {
        bail_user!(
            "ssl.labels: {labels} labels need {per_class} examples of class {c}, the training \
             set has {}",
            taken[c]
        );
    }
    let wanted_unlabeled = if unlabeled == 0 { 1 } else { unlabeled };
    if rest.len() < validation + wanted_unlabeled {
        bail_user!(
            "ssl: {} training examples are left after {labels} labels, fewer than \
             ssl.validation = {validation} plus {} unlabeled",
            rest.len(),
            if unlabeled == 0 {
                "at least 1".to_string()
            } else {
                format!("ssl.unlabeled = {unlabeled}")
            }
        );
    }
    let mut validation_set = rest[..validation].to_vec();
    let mut unlabeled_set = rest[validation..].to_vec();
    if unlabeled > 0 {
        unlabeled_set.truncate(unlabeled);
    }
    labeled.sort_unstable();
    validation_set.sort_unstable();
    unlabeled_set.sort_unstable();
    Ok(SslSplits {
        labeled,
        validation: validation_set,
        unlabeled: unlabeled_set,
    })
}

/// The images `idx` of `split` as a split of their own.
pub fn subset(split: &Split, idx: &[usize]) -> Split {
    let mut images = Vec::with_capacity(idx.len() * split.image_len());
    for &i in idx {
        images.extend_from_slice(split.image(i));
    }
    Split {
        images,
        labels: idx.iter().map(|&i| split.labels[i]).collect(),
        n: idx.len(),
        channels: split.channels,
        height: split.height,
        width: split.width,
    }
}

/// How many out-of-distribution images make them `fraction` of an unlabeled set with
/// `in_distribution` others.
pub fn ood_count(in_distribution: usize, fraction: f64) -> usize {
    (in_distribution as f64 * fraction / (1.0 - fraction)).round() as usize
}

/// `n` images of `source` at random (fixed by the seed), as (indices, images).
pub fn ood_sample(source: &Split, n: usize, seed: u64) -> anyhow::Result<(Vec<usize>, Split)> {
    if n > source.n {
        bail_user!(
            "ssl.ood_fraction: needs {n} out-of-distribution images, the source has {}",
            source.n
        );
    }
    let mut order: Vec<usize> = (0..source.n).collect();
    order.shuffle(&mut Pcg64::seed_from_u64(mix(seed, OOD_STREAM)));
    order.truncate(n);
    order.sort_unstable();
    let images = subset(source, &order);
    Ok((order, images))
}

/// `n` images of uniform random pixels of the given shape (the built-in OOD source).
pub fn noise_images(n: usize, [channels, height, width]: [usize; 3], seed: u64) -> Split {
    let mut rng = Pcg64::seed_from_u64(mix(seed, OOD_STREAM));
    Split {
        images: (0..n * channels * height * width)
            .map(|_| rng.random::<f32>())
            .collect(),
        labels: vec![0; n],
        n,
        channels,
        height,
        width,
    }
}

/// `a` followed by `b` (same image shape).
pub fn concat(a: &Split, b: &Split) -> Split {
    let mut out = a.clone();
    out.images.extend_from_slice(&b.images);
    out.labels.extend_from_slice(&b.labels);
    out.n += b.n;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<u8> {
        // 10 classes, unevenly represented.
        (0..1000u32)
            .map(|i| ((i * 7 + i / 13) % 10) as u8)
            .collect()
    }

    #[test]
    fn splits_are_balanced_disjoint_sized_and_fixed_by_the_seed() {
        let y = labels();
        let s = split(&y, 10, 100, 200, 0, 1).unwrap();
        assert_eq!(s.labeled.len(), 100);
        assert_eq!(s.validation.len(), 200);
        assert_eq!(s.unlabeled.len(), 700);
        for c in 0..10u8 {
            assert_eq!(s.labeled.iter().filter(|&&i| y[i] == c).count(), 10);
        }
        let mut all: Vec<usize> = [&s.labeled[..], &s.validation, &s.unlabeled].concat();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 1000, "disjoint and covering");
        assert_eq!(split(&y, 10, 100, 200, 0, 1).unwrap(), s);
        let other = split(&y, 10, 100, 200, 0, 2).unwrap();
        assert_ne!(other.labeled, s.labeled);
        let limited = split(&y, 10, 100, 200, 50, 1).unwrap();
        assert_eq!(limited.unlabeled.len(), 50);
        assert_eq!(limited.labeled, s.labeled);
    }

    #[test]
    fn impossible_splits_are_user_errors() {
        let y = labels();
        let e = split(&y, 10, 100, 950, 0, 1).unwrap_err();
        assert!(
            e.to_string().contains("fewer than ssl.validation = 950"),
            "{e}"
        );
        let e = split(&y[..50], 10, 100, 0, 0, 1).unwrap_err();
        assert!(e.to_string().contains("need 10 examples of class"), "{e}");
    }

    #[test]
    fn ood_mixing_gives_the_fraction() {
        assert_eq!(ood_count(900, 0.1), 100);
        assert_eq!(ood_count(700, 0.5), 700);
        let noise = noise_images(5, [1, 4, 4], 3);
        assert_eq!(noise.images.len(), 80);
        assert!(noise.images.iter().all(|v| (0.0..1.0).contains(v)));
        let (idx, picked) = ood_sample(&noise, 3, 1).unwrap();
        assert_eq!((idx.len(), picked.n), (3, 3));
        assert_eq!(picked.image(0), noise.image(idx[0]));
        assert_eq!(concat(&noise, &picked).n, 8);
        assert!(ood_sample(&noise, 6, 1).is_err());
    }
}
