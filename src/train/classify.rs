//! Classification pieces every kind shares: batches gathered from an in-memory split, the
//! per-example cross-entropy, and the count of correct predictions.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;

use rand_pcg::Pcg64;

use crate::data::Split;
use crate::data::augment::Augment;

/// Images `idx` of `split` as `[batch, channels, height, width]`, and their labels.
pub fn gather(split: &Split, idx: &[usize], device: &Device) -> (Tensor<4>, Tensor<1, Int>) {
    let mut pixels = Vec::with_capacity(idx.len() * split.image_len());
    for &i in idx {
        pixels.extend_from_slice(split.image(i));
    }
    let shape = [idx.len(), split.channels, split.height, split.width];
    (
        Tensor::from_data(TensorData::new(pixels, shape), device),
        labels(split, idx, device),
    )
}

/// [`gather`] with each image passed through `augment`: images `idx` of `split` as `[batch, channels, height, width]` and their labels.
pub fn gather_augmented(
    split: &Split,
    idx: &[usize],
    augment: Augment,
    rng: &mut Pcg64,
    device: &Device,
) -> (Tensor<4>, Tensor<1, Int>) {
    let len = split.image_len();
    let mut pixels = vec![0.0f32; idx.len() * len];
    for (out, &i) in pixels.chunks_exact_mut(len).zip(idx) {
        if augment.is_identity() {
            out.copy_from_slice(split.image(i));
        } else {
            augment.apply(
                split.image(i),
                out,
                split.channels,
                split.height,
                split.width,
                rng,
            );
        }
    }
    let shape = [idx.len(), split.channels, split.height, split.width];
    (
        Tensor::from_data(TensorData::new(pixels, shape), device),
        labels(split, idx, device),
    )
}

/// The labels of images `idx` of `split`.
pub fn labels(split: &Split, idx: &[usize], device: &Device) -> Tensor<1, Int> {
    let labels: Vec<i64> = idx.iter().map(|&i| split.labels[i] as i64).collect();
    Tensor::from_data(TensorData::new(labels, [idx.len()]), device)
}

/// Per-example cross-entropy, `[batch]`.
pub fn cross_entropy(logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
    log_softmax(logits, 1)
        .gather(1, labels.unsqueeze_dim(1))
        .squeeze_dim(1)
        .neg()
}

/// Number of rows whose arg-max is the label, as a one-element float tensor.
pub fn count_correct(logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
    logits.argmax(1).squeeze_dim(1).equal(labels).float().sum()
}

/// Mean cross-entropy and accuracy of `forward` over labelled batches (in inference mode: pass
/// the batches on the inference device).
pub fn evaluate_batches(
    batches: impl Iterator<Item = (Tensor<4>, Tensor<1, Int>)>,
    forward: impl Fn(Tensor<4>) -> Tensor<2>,
) -> super::Evaluation {
    let (mut n, mut loss, mut correct) = (0usize, 0.0f64, 0.0f64);
    for (x, y) in batches {
        n += y.dims()[0];
        let logits = forward(x);
        correct += count_correct(logits.clone(), y.clone()).into_scalar::<f32>() as f64;
        loss += cross_entropy(logits, y).sum().into_scalar::<f32>() as f64;
    }
    let n = n.max(1) as f64;
    super::Evaluation {
        loss: loss / n,
        accuracy: correct / n,
        extra: Vec::new(),
    }
}

/// Consecutive chunks of `chunk` images of `split` with their labels, for evaluation.
pub fn chunks<'a>(
    split: &'a Split,
    chunk: usize,
    device: &'a Device,
) -> impl Iterator<Item = (Tensor<4>, Tensor<1, Int>)> + 'a {
    (0..split.n).step_by(chunk).map(move |start| {
        let idx: Vec<usize> = (start..(start + chunk).min(split.n)).collect();
        gather(split, &idx, device)
    })
}
