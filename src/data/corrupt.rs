//! The randomization tests of Zhang et al. 2017 (Section 2): partially or fully random labels,
//! and shuffled pixels, random pixels or Gaussian images. Each corruption is a pure function
//! of the data and a seed, drawn once per run; test labels always stay true.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

use serde::{Deserialize, Serialize};

use super::preprocess::whiten;
use super::{Dataset, Split};
use crate::util::rng::mix;
use crate::util::rng::standard_normal;

/// Streams of the run seed, one per random choice, so that changing one corruption does not
/// change the draws of another.
const LABEL_STREAM: u64 = 0x4c41_4245_4c53; // "LABELS"
const PIXEL_STREAM: u64 = 0x5049_5845_4c53; // "PIXELS"
const TEST_STREAM: u64 = 0x5445_5354; // "TEST"

/// What is done to the images and labels before training (Zhang et al. 2017, Section 2): fixed
/// once per run from the seed. Test labels always stay true.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorruptionSpec {
    /// Probability that a training label is replaced by a uniformly random class (which may, by
    /// chance, be the true one): 0 = true labels, 1 = random labels.
    pub labels: f64,
    pub images: ImageCorruption,
}

impl CorruptionSpec {
    pub fn is_default(&self) -> bool {
        self.labels == 0.0 && self.images == ImageCorruption::None
    }
}

impl Default for CorruptionSpec {
    fn default() -> Self {
        Self {
            labels: 0.0,
            images: ImageCorruption::None,
        }
    }
}

/// The paper's input randomizations, applied to the train and the test images alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageCorruption {
    /// The true images.
    None,
    /// One random permutation of the pixel positions, the same for every image.
    ShuffledPixels,
    /// A different random permutation for each image.
    RandomPixels,
    /// Every pixel drawn from a Gaussian with the training images' mean and variance.
    Gaussian,
}

/// A dataset as the randomization tests see it: corrupted as `spec` says (fixed by the seed),
/// then whitened per image if `whiten_images`, with what the corruption changed.
pub fn prepare(
    data: &Dataset,
    spec: &CorruptionSpec,
    whiten_images: bool,
    seed: u64,
) -> (Split, Split, CorruptionReport) {
    let (mut train, mut test, report) =
        apply(&data.train, &data.test, spec, data.num_classes, seed);
    if whiten_images {
        whiten(&mut train);
        whiten(&mut test);
    }
    (train, test, report)
}

/// What a corruption actually did, for the summary.
#[derive(Clone, Debug, PartialEq)]
pub struct CorruptionReport {
    /// The probability `p` of redrawing a training label.
    pub label_noise: f64,
    /// Training labels that were redrawn (a redrawn label may equal the true one).
    pub labels_redrawn: usize,
    /// Training labels that now differ from the true ones (about `0.9 p n` for 10 classes).
    pub labels_changed: usize,
    pub train_size: usize,
    pub images: ImageCorruption,
    /// Per-channel mean and standard deviation of the Gaussian images (empty otherwise).
    pub gaussian: Vec<(f64, f64)>,
}

impl CorruptionReport {
    /// Fraction of training labels that differ from the true ones.
    pub fn changed_fraction(&self) -> f64 {
        self.labels_changed as f64 / self.train_size.max(1) as f64
    }
}

/// Applies `spec` to copies of the splits: labels of `train` only, images of both (shuffled
/// pixels use one permutation for both splits; random pixels and Gaussian images draw the test
/// images independently of the training ones).
pub fn apply(
    train: &Split,
    test: &Split,
    spec: &CorruptionSpec,
    classes: usize,
    seed: u64,
) -> (Split, Split, CorruptionReport) {
    let (mut train, mut test) = (train.clone(), test.clone());
    let mut rng = Pcg64::seed_from_u64(mix(seed, LABEL_STREAM));
    let (labels_redrawn, labels_changed) =
        corrupt_labels(&mut train.labels, spec.labels, classes, &mut rng);
    let mut rng = Pcg64::seed_from_u64(mix(seed, PIXEL_STREAM));
    let mut test_rng = Pcg64::seed_from_u64(mix(seed, PIXEL_STREAM ^ TEST_STREAM));
    let mut gaussian = Vec::new();
    match spec.images {
        ImageCorruption::None => {}
        ImageCorruption::ShuffledPixels => {
            let perm = permutation(train.height * train.width, &mut rng);
            shuffle_pixels(&mut train, &perm);
            shuffle_pixels(&mut test, &perm);
        }
        ImageCorruption::RandomPixels => {
            random_pixels(&mut train, &mut rng);
            random_pixels(&mut test, &mut test_rng);
        }
        ImageCorruption::Gaussian => {
            gaussian = channel_stats(&train);
            gaussian_images(&mut train, &gaussian, &mut rng);
            gaussian_images(&mut test, &gaussian, &mut test_rng);
        }
    }
    let report = CorruptionReport {
        label_noise: spec.labels,
        labels_redrawn,
        labels_changed,
        train_size: train.n,
        images: spec.images,
        gaussian,
    };
    (train, test, report)
}

/// Each label is redrawn uniformly from `classes` with probability `p`. One uniform number and
/// one candidate class are drawn per example whatever `p` is, so the labels corrupted at `p`
/// are a subset of those corrupted at any larger `p`, with the same new classes (nested
/// corruption levels, as in the paper's Figure 1b/c sweep). Returns (redrawn, changed).
pub fn corrupt_labels(
    labels: &mut [u8],
    p: f64,
    classes: usize,
    rng: &mut impl Rng,
) -> (usize, usize) {
    let (mut redrawn, mut changed) = (0, 0);
    for label in labels.iter_mut() {
        let coin: f64 = rng.random();
        let class = rng.random_range(0..classes) as u8;
        if coin < p {
            redrawn += 1;
            if class != *label {
                changed += 1;
            }
            *label = class;
        }
    }
    (redrawn, changed)
}

/// A uniformly random permutation of `0..n`.
pub fn permutation(n: usize, rng: &mut impl Rng) -> Vec<usize> {
    let mut perm: Vec<usize> = (0..n).collect();
    perm.shuffle(rng);
    perm
}

/// Pixel position `i` of every image (every channel) takes the value at position `perm[i]`.
pub fn shuffle_pixels(split: &mut Split, perm: &[usize]) {
    let plane = split.height * split.width;
    assert_eq!(perm.len(), plane, "a permutation of the pixel positions");
    let mut tmp = vec![0.0f32; plane];
    for chunk in split.images.chunks_mut(plane) {
        for (t, &p) in tmp.iter_mut().zip(perm) {
            *t = chunk[p];
        }
        chunk.copy_from_slice(&tmp);
    }
}

/// A fresh permutation of the pixel positions for each image (shared by its channels).
pub fn random_pixels(split: &mut Split, rng: &mut impl Rng) {
    let plane = split.height * split.width;
    let len = split.image_len();
    let mut tmp = vec![0.0f32; plane];
    for image in split.images.chunks_mut(len) {
        let perm = permutation(plane, rng);
        for chunk in image.chunks_mut(plane) {
            for (t, &p) in tmp.iter_mut().zip(&perm) {
                *t = chunk[p];
            }
            chunk.copy_from_slice(&tmp);
        }
    }
}

/// Mean and (population) standard deviation of each channel over all images of `split`.
pub fn channel_stats(split: &Split) -> Vec<(f64, f64)> {
    let plane = split.height * split.width;
    (0..split.channels)
        .map(|c| {
            let (mut sum, mut sq, mut count) = (0.0f64, 0.0f64, 0usize);
            for image in split.images.chunks(split.image_len()) {
                for &v in &image[c * plane..(c + 1) * plane] {
                    sum += v as f64;
                    sq += (v as f64) * (v as f64);
                    count += 1;
                }
            }
            let mean = sum / count.max(1) as f64;
            let var = (sq / count.max(1) as f64 - mean * mean).max(0.0);
            (mean, var.sqrt())
        })
        .collect()
}

/// Replaces every pixel by an independent draw from N(mean_c, std_c^2) of its channel (not
/// clipped to [0, 1], as the paper's Gaussian images are not).
pub fn gaussian_images(split: &mut Split, stats: &[(f64, f64)], rng: &mut impl Rng) {
    let plane = split.height * split.width;
    let len = split.image_len();
    for image in split.images.chunks_mut(len) {
        for (c, chunk) in image.chunks_mut(plane).enumerate() {
            let (mean, std) = stats[c];
            for v in chunk {
                *v = (mean + std * standard_normal(rng)) as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(n: usize) -> Split {
        let mut rng = Pcg64::seed_from_u64(9);
        Split {
            images: (0..n * 2 * 4 * 3).map(|_| rng.random::<f32>()).collect(),
            labels: (0..n).map(|i| (i % 10) as u8).collect(),
            n,
            channels: 2,
            height: 4,
            width: 3,
        }
    }

    fn sorted(v: &[f32]) -> Vec<f32> {
        let mut v = v.to_vec();
        v.sort_by(f32::total_cmp);
        v
    }

    #[test]
    fn label_corruption_is_nested_across_p() {
        let truth: Vec<u8> = (0..1000).map(|i| (i % 10) as u8).collect();
        let at = |p: f64| {
            let mut l = truth.clone();
            corrupt_labels(&mut l, p, 10, &mut Pcg64::seed_from_u64(1));
            l
        };
        let (low, high) = (at(0.3), at(0.6));
        for i in 0..truth.len() {
            if low[i] != truth[i] {
                assert_eq!(
                    low[i], high[i],
                    "a label changed at p=0.3 keeps its new class"
                );
            }
        }
    }

    #[test]
    fn shuffled_pixels_use_one_permutation_per_split() {
        let mut s = split(5);
        let orig = s.clone();
        let perm = permutation(12, &mut Pcg64::seed_from_u64(2));
        shuffle_pixels(&mut s, &perm);
        for i in 0..5 {
            for c in 0..2 {
                for (k, &p) in perm.iter().enumerate() {
                    assert_eq!(s.image(i)[c * 12 + k], orig.image(i)[c * 12 + p]);
                }
            }
        }
    }

    #[test]
    fn random_pixels_keep_each_images_values() {
        let mut s = split(6);
        let orig = s.clone();
        random_pixels(&mut s, &mut Pcg64::seed_from_u64(3));
        assert_ne!(s.images, orig.images);
        for i in 0..6 {
            assert_eq!(sorted(s.image(i)), sorted(orig.image(i)));
        }
    }

    #[test]
    fn gaussian_images_match_the_channel_statistics() {
        let mut s = split(2000);
        let stats = channel_stats(&s);
        gaussian_images(&mut s, &stats, &mut Pcg64::seed_from_u64(4));
        for (got, want) in channel_stats(&s).iter().zip(&stats) {
            assert!((got.0 - want.0).abs() < 0.01, "{got:?} vs {want:?}");
            assert!((got.1 - want.1).abs() < 0.01, "{got:?} vs {want:?}");
        }
    }
}
