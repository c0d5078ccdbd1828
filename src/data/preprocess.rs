//! Zhang et al. 2017's preprocessing: per-image whitening. (Their random crops — each image
//! padded by `pad` zero pixels per side and a window of its own size cut out at a random
//! offset — are shifts of up to `pad` pixels, done by [`super::augment::shift_into`].)

use super::Split;

/// TensorFlow's `per_image_standardization`, the paper's CIFAR-10 preprocessing: each image
/// minus its mean, divided by `max(std, 1 / sqrt(values per image))`.
pub fn whiten(split: &mut Split) {
    let len = split.image_len();
    let floor = 1.0 / (len as f64).sqrt();
    for image in split.images.chunks_mut(len) {
        let mean = image.iter().map(|&v| v as f64).sum::<f64>() / len as f64;
        let var = image
            .iter()
            .map(|&v| (v as f64 - mean).powi(2))
            .sum::<f64>()
            / len as f64;
        let scale = var.sqrt().max(floor);
        for v in image {
            *v = ((*v as f64 - mean) / scale) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitened_images_have_zero_mean_and_unit_variance() {
        let mut s = Split {
            images: (0..3 * 8)
                .map(|v| (v % 5) as f32 + (v / 8) as f32)
                .collect(),
            labels: vec![0; 3],
            n: 3,
            channels: 2,
            height: 2,
            width: 2,
        };
        s.images[16..24].fill(0.7); // a constant image stays finite: all zeros
        whiten(&mut s);
        for i in 0..2 {
            let img = s.image(i);
            let mean: f32 = img.iter().sum::<f32>() / 8.0;
            let var: f32 = img.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / 8.0;
            assert!(
                mean.abs() < 1e-6 && (var - 1.0).abs() < 1e-5,
                "{mean} {var}"
            );
        }
        assert!(s.image(2).iter().all(|&v| v == 0.0));
    }
}
