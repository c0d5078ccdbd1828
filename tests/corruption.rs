//! Invariants of Zhang et al.'s randomization tests (`runner::data::corrupt`), on synthetic
//! splits and on the shipped mnist-10k.

use runner::config::{CorruptionSpec, ImageCorruption};
use runner::data::corrupt::{self, CorruptionReport};
use runner::data::{DataOptions, Split};

/// `n` images of 2 channels x 4 x 5 whose pixel values are all different (image k, position j
/// holds k * 1000 + j), labels cycling through 10 classes.
fn distinct(n: usize, offset: usize) -> Split {
    let len = 2 * 4 * 5;
    Split {
        images: (0..n * len)
            .map(|v| ((v / len + offset) * 1000 + v % len) as f32)
            .collect(),
        labels: (0..n).map(|i| ((i * 7 + offset) % 10) as u8).collect(),
        n,
        channels: 2,
        height: 4,
        width: 5,
    }
}

fn spec(labels: f64, images: ImageCorruption) -> CorruptionSpec {
    CorruptionSpec { labels, images }
}

fn apply(
    train: &Split,
    test: &Split,
    s: &CorruptionSpec,
    seed: u64,
) -> (Split, Split, CorruptionReport) {
    corrupt::apply(train, test, s, 10, seed)
}

fn sorted(v: &[f32]) -> Vec<f32> {
    let mut v = v.to_vec();
    v.sort_by(f32::total_cmp);
    v
}

/// For an image whose values are `base + position`, where each output position's value came
/// from, per channel plane.
fn source_positions(image: &[f32], plane: usize) -> Vec<usize> {
    image.iter().map(|v| (*v as usize % 1000) % plane).collect()
}

#[test]
fn p_zero_and_no_image_corruption_change_nothing() {
    let (train, test) = (distinct(50, 0), distinct(20, 500));
    let (tr, te, report) = apply(&train, &test, &CorruptionSpec::default(), 3);
    assert_eq!(tr.images, train.images);
    assert_eq!(tr.labels, train.labels);
    assert_eq!(te.images, test.images);
    assert_eq!(te.labels, test.labels);
    assert_eq!((report.labels_redrawn, report.labels_changed), (0, 0));
}

#[test]
fn label_change_fraction_is_close_to_0_9_p_and_test_labels_stay_true() {
    let (train, test) = (distinct(8000, 0), distinct(100, 9000));
    for p in [0.1, 0.2, 0.5, 0.8, 1.0] {
        let (tr, te, report) = apply(&train, &test, &spec(p, ImageCorruption::None), 11);
        let changed = tr
            .labels
            .iter()
            .zip(&train.labels)
            .filter(|(a, b)| a != b)
            .count();
        assert_eq!(changed, report.labels_changed);
        let fraction = report.changed_fraction();
        // Binomial standard deviation is below 0.006 for n = 8000.
        assert!(
            (fraction - 0.9 * p).abs() < 0.02,
            "p={p}: changed {fraction}"
        );
        let redrawn = report.labels_redrawn as f64 / 8000.0;
        assert!((redrawn - p).abs() < 0.02, "p={p}: redrawn {redrawn}");
        assert_eq!(te.labels, test.labels, "test labels stay true");
        assert_eq!(tr.images, train.images, "label noise leaves images alone");
    }
}

#[test]
fn random_labels_are_uniform_over_classes() {
    let train = distinct(10_000, 0);
    let (tr, _, _) = apply(
        &train,
        &distinct(1, 0),
        &spec(1.0, ImageCorruption::None),
        5,
    );
    let mut counts = [0usize; 10];
    for &l in &tr.labels {
        counts[l as usize] += 1;
    }
    for c in counts {
        assert!((900..1100).contains(&c), "{counts:?}");
    }
}

#[test]
fn shuffled_pixels_keep_each_images_values_with_one_permutation_for_both_splits() {
    let (train, test) = (distinct(30, 0), distinct(10, 500));
    let (tr, te, _) = apply(
        &train,
        &test,
        &spec(0.0, ImageCorruption::ShuffledPixels),
        2,
    );
    let plane = 20;
    let perm = source_positions(&tr.image(0)[..plane], plane);
    assert_ne!(perm, (0..plane).collect::<Vec<_>>(), "pixels moved");
    for (shuffled, orig) in [(&tr, &train), (&te, &test)] {
        for i in 0..shuffled.n {
            assert_eq!(sorted(shuffled.image(i)), sorted(orig.image(i)));
            for c in 0..2 {
                let channel = &shuffled.image(i)[c * plane..(c + 1) * plane];
                assert_eq!(
                    source_positions(channel, plane),
                    perm,
                    "image {i} channel {c}"
                );
            }
        }
        assert_eq!(shuffled.labels, orig.labels);
    }
}

#[test]
fn random_pixels_keep_each_images_values_with_a_permutation_per_image() {
    let (train, test) = (distinct(30, 0), distinct(10, 500));
    let (tr, te, _) = apply(&train, &test, &spec(0.0, ImageCorruption::RandomPixels), 2);
    let plane = 20;
    let mut perms = Vec::new();
    for (shuffled, orig) in [(&tr, &train), (&te, &test)] {
        for i in 0..shuffled.n {
            assert_eq!(sorted(shuffled.image(i)), sorted(orig.image(i)));
            let img = shuffled.image(i);
            // Both channels of one image move together.
            assert_eq!(
                source_positions(&img[..plane], plane),
                source_positions(&img[plane..], plane)
            );
            perms.push(source_positions(&img[..plane], plane));
        }
    }
    perms.sort();
    perms.dedup();
    assert_eq!(perms.len(), 40, "a different permutation for every image");
}

#[test]
fn gaussian_images_have_the_training_mean_and_variance() {
    let data = runner::data::load("mnist-10k", &DataOptions::default()).unwrap();
    let (tr, te, report) = apply(
        &data.train,
        &data.test,
        &spec(0.0, ImageCorruption::Gaussian),
        4,
    );
    let (mean, std) = report.gaussian[0];
    assert_eq!(corrupt::channel_stats(&data.train)[0], (mean, std));
    // MNIST: mostly black, mean about 0.13, std about 0.31.
    assert!(
        (0.1..0.16).contains(&mean) && (0.28..0.34).contains(&std),
        "{mean} {std}"
    );
    for split in [&tr, &te] {
        let (m, s) = corrupt::channel_stats(split)[0];
        assert!(
            (m - mean).abs() < 0.002 && (s - std).abs() < 0.002,
            "{m} {s}"
        );
        // No image is left as it was.
        assert!(split.images.iter().any(|v| *v < 0.0));
    }
    assert_eq!(te.labels, data.test.labels);
    assert_eq!(tr.labels, data.train.labels);
}

#[test]
fn corruption_is_a_function_of_the_seed() {
    let (train, test) = (distinct(200, 0), distinct(20, 500));
    let s = spec(0.5, ImageCorruption::RandomPixels);
    let a = apply(&train, &test, &s, 8);
    let b = apply(&train, &test, &s, 8);
    let c = apply(&train, &test, &s, 9);
    assert_eq!((&a.0.images, &a.0.labels), (&b.0.images, &b.0.labels));
    assert_eq!(a.1.images, b.1.images);
    assert_ne!(a.0.labels, c.0.labels);
    assert_ne!(a.0.images, c.0.images);
}
