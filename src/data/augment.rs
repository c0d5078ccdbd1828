//! Training-time augmentation and resizing for images held as CHW `f32` slices.
//!
//! - [`shift_into`]: a random translation by up to `max` pixels each way with zero fill — the
//!   same as zero-padding by `max` and taking a random crop of the original size, the usual
//!   augmentation for 28x28 digits and 32x32 CIFAR images.
//! - horizontal flips for natural images (not for digits).
//! - [`resize_split`], [`resize_into`]: bilinear resizing (PyTorch's `align_corners=False`
//!   convention), used once at load time when a model's input resolution differs from the
//!   dataset's, and to scale digits pasted onto detection canvases.

use rand::Rng;

use super::Split;

/// Per-image augmentation settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Augment {
    /// Largest shift in pixels along each axis (0 = none).
    pub max_shift: usize,
    /// Mirror left-right with probability 1/2.
    pub flip: bool,
}

impl Augment {
    pub fn is_identity(&self) -> bool {
        self.max_shift == 0 && !self.flip
    }

    /// Writes an augmented copy of `src` (`channels x side x side`, CHW) into `dst`.
    pub fn apply<R: Rng>(
        &self,
        src: &[f32],
        dst: &mut [f32],
        channels: usize,
        height: usize,
        width: usize,
        rng: &mut R,
    ) {
        let m = self.max_shift as i64;
        let (dy, dx) = if m > 0 {
            (rng.random_range(-m..=m), rng.random_range(-m..=m))
        } else {
            (0, 0)
        };
        let flip = self.flip && rng.random_bool(0.5);
        shift_into(src, dst, channels, height, width, dy, dx, flip);
    }
}

/// `dst[c, y, x] = src[c, y - dy, x' - dx]` (zero outside), where `x'` is `x` or, with `flip`,
/// `width - 1 - x`: the image moved down by `dy` and right by `dx`, optionally mirrored first.
#[allow(clippy::too_many_arguments)]
pub fn shift_into(
    src: &[f32],
    dst: &mut [f32],
    channels: usize,
    height: usize,
    width: usize,
    dy: i64,
    dx: i64,
    flip: bool,
) {
    let plane = height * width;
    debug_assert_eq!(src.len(), channels * plane);
    debug_assert_eq!(dst.len(), channels * plane);
    for c in 0..channels {
        let (s, d) = (&src[c * plane..][..plane], &mut dst[c * plane..][..plane]);
        for y in 0..height {
            let sy = y as i64 - dy;
            let row = &mut d[y * width..][..width];
            if sy < 0 || sy >= height as i64 {
                row.fill(0.0);
                continue;
            }
            let srow = &s[sy as usize * width..][..width];
            for (x, out) in row.iter_mut().enumerate() {
                let sx = x as i64 - dx;
                *out = if sx < 0 || sx >= width as i64 {
                    0.0
                } else if flip {
                    srow[width - 1 - sx as usize]
                } else {
                    srow[sx as usize]
                };
            }
        }
    }
}

/// Every image of `split` resized to `size x size` (bilinear, `align_corners=False`).
pub fn resize_split(split: &Split, size: usize) -> Split {
    if split.height == size && split.width == size {
        return split.clone();
    }
    let (c, h, w) = (split.channels, split.height, split.width);
    let mut images = Vec::with_capacity(split.n * c * size * size);
    for i in 0..split.n {
        resize_into(split.image(i), c, h, w, size, size, &mut images);
    }
    Split {
        images,
        labels: split.labels.clone(),
        n: split.n,
        channels: c,
        height: size,
        width: size,
    }
}

/// Appends `img` (`channels x height x width`, CHW) resized to `out_h x out_w` to `out`
/// (bilinear, PyTorch's `align_corners=False`, no antialiasing).
pub fn resize_into(
    img: &[f32],
    channels: usize,
    height: usize,
    width: usize,
    out_h: usize,
    out_w: usize,
    out: &mut Vec<f32>,
) {
    // Source coordinate and weights per output row/column, shared by all channels.
    let axis = |inp: usize, size: usize| -> Vec<(usize, usize, f32)> {
        let scale = inp as f64 / size as f64;
        (0..size)
            .map(|o| {
                let src = ((o as f64 + 0.5) * scale - 0.5).max(0.0);
                let lo = (src.floor() as usize).min(inp - 1);
                let hi = (lo + 1).min(inp - 1);
                (lo, hi, (src - lo as f64) as f32)
            })
            .collect()
    };
    let (ys, xs) = (axis(height, out_h), axis(width, out_w));
    let (h, w) = (height, width);
    out.reserve(channels * out_h * out_w);
    for ch in 0..channels {
        let p = &img[ch * h * w..][..h * w];
        for &(y0, y1, fy) in &ys {
            for &(x0, x1, fx) in &xs {
                let top = p[y0 * w + x0] * (1.0 - fx) + p[y0 * w + x1] * fx;
                let bottom = p[y1 * w + x0] * (1.0 - fx) + p[y1 * w + x1] * fx;
                out.push(top * (1.0 - fy) + bottom * fy);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(c: usize, h: usize, w: usize) -> Vec<f32> {
        (0..c * h * w).map(|i| i as f32 + 1.0).collect()
    }

    #[test]
    fn shift_moves_pixels_and_fills_zeros() {
        let src = ramp(1, 3, 3);
        let mut dst = vec![-1.0; 9];
        shift_into(&src, &mut dst, 1, 3, 3, 1, -1, false);
        // Down by one, left by one.
        assert_eq!(dst, [0.0, 0.0, 0.0, 2.0, 3.0, 0.0, 5.0, 6.0, 0.0]);
        shift_into(&src, &mut dst, 1, 3, 3, 0, 0, true);
        assert_eq!(dst, [3.0, 2.0, 1.0, 6.0, 5.0, 4.0, 9.0, 8.0, 7.0]);
        shift_into(&src, &mut dst, 1, 3, 3, 0, 0, false);
        assert_eq!(dst, src);
    }

    #[test]
    fn shifts_stay_within_the_bound_and_cover_it() {
        use rand::SeedableRng;
        let aug = Augment {
            max_shift: 2,
            flip: false,
        };
        // A single bright pixel in the middle of a 7x7 image.
        let mut src = vec![0.0; 49];
        src[3 * 7 + 3] = 1.0;
        let mut rng = rand_pcg::Pcg64::seed_from_u64(5);
        let mut seen = std::collections::BTreeSet::new();
        let mut dst = vec![0.0; 49];
        for _ in 0..500 {
            aug.apply(&src, &mut dst, 1, 7, 7, &mut rng);
            let at = dst.iter().position(|&v| v == 1.0).expect("pixel kept");
            let (y, x) = (at / 7, at % 7);
            assert!((1..=5).contains(&y) && (1..=5).contains(&x));
            seen.insert((y, x));
        }
        assert_eq!(seen.len(), 25, "every shift in [-2, 2]^2 occurs");
    }

    #[test]
    fn resize_keeps_constants_and_upsamples_like_torch() {
        let split = Split {
            images: vec![0.0, 1.0, 2.0, 3.0],
            labels: vec![0],
            n: 1,
            channels: 1,
            height: 2,
            width: 2,
        };
        let big = resize_split(&split, 4);
        // torch.nn.functional.interpolate(x, 4, mode="bilinear", align_corners=False)
        let expected = [
            0.0, 0.25, 0.75, 1.0, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2.0, 2.25, 2.75, 3.0,
        ];
        for (a, b) in big.images.iter().zip(expected) {
            assert!((a - b).abs() < 1e-6, "{:?}", big.images);
        }
        assert_eq!(resize_split(&split, 2).images, split.images);
    }
}
