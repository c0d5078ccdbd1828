//! Zhang et al. 2017's preprocessing and augmentation: per-image whitening, and random crops
//! (each training image padded by `pad` zero pixels per side and a window of its own size cut
//! out at a random offset, i.e. shifted by up to `pad` pixels with zeros filling in; the
//! paper's 28x28 crops of 32x32 CIFAR-10 images are shifts of up to 2 pixels).

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

/// Writes image `src` (CHW, `channels x height x width`) shifted so that output pixel `(y, x)`
/// is input pixel `(y + dy - pad, x + dx - pad)`, zero outside; `dy, dx` in `0..=2 * pad`
/// (`dy = dx = pad` is the identity).
pub fn shifted_crop(
    src: &[f32],
    [channels, height, width]: [usize; 3],
    pad: usize,
    [dy, dx]: [usize; 2],
    out: &mut Vec<f32>,
) {
    debug_assert!(dy <= 2 * pad && dx <= 2 * pad);
    for c in 0..channels {
        let plane = &src[c * height * width..(c + 1) * height * width];
        for y in 0..height {
            let sy = (y + dy).checked_sub(pad).filter(|&v| v < height);
            for x in 0..width {
                let sx = (x + dx).checked_sub(pad).filter(|&v| v < width);
                out.push(match (sy, sx) {
                    (Some(sy), Some(sx)) => plane[sy * width + sx],
                    _ => 0.0,
                });
            }
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

    #[test]
    fn centre_offset_is_the_identity_and_shifts_fill_zeros() {
        let img: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        let mut out = Vec::new();
        shifted_crop(&img, [1, 3, 3], 1, [1, 1], &mut out);
        assert_eq!(out, img);
        out.clear();
        // Window starting one row/column before the image: the content moves down-right.
        shifted_crop(&img, [1, 3, 3], 1, [0, 0], &mut out);
        assert_eq!(out, [0., 0., 0., 0., 1., 2., 0., 4., 5.]);
        out.clear();
        shifted_crop(&img, [1, 3, 3], 1, [2, 1], &mut out);
        assert_eq!(out, [4., 5., 6., 7., 8., 9., 0., 0., 0.]);
    }
}
