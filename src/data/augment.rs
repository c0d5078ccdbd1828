//! Training-time augmentation and resizing for images held as CHW `f32` slices.
//!
//! - [`shift_into`]: a random translation by up to `max` pixels each way with zero fill — the
//!   same as zero-padding by `max` and taking a random crop of the original size, the usual
//!   augmentation for 28x28 digits and 32x32 CIFAR images.
//! - horizontal flips for natural images (not for digits).
//! - [`StrongAugment`]: FixMatch-style strong views for small images: a random affine map
//!   (rotation, shear, scale, shift; bilinear, zero fill), Gaussian noise and a contrast change
//!   (each with probability 1/2), then a cutout square of gray.
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

/// Strong augmentation settings (see the module docs); values stay in `[0, 1]`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StrongAugment {
    /// Largest rotation, degrees either way.
    pub rotate_degrees: f64,
    /// Largest shear factor either way (x += shear * y).
    pub shear: f64,
    /// Scale drawn from [1 - scale, 1 + scale].
    pub scale: f64,
    /// Largest shift in pixels along each axis.
    pub shift: usize,
    /// Standard deviation of the Gaussian noise added to each pixel.
    pub noise: f64,
    /// Contrast factor drawn from [1 - contrast, 1 + contrast] around the image's mean.
    pub contrast: f64,
    /// Side of the gray (0.5) cutout square; 0 = none.
    pub cutout: usize,
}

impl StrongAugment {
    /// Writes a strongly augmented copy of `src` (CHW) into `dst`.
    pub fn apply<R: Rng>(
        &self,
        src: &[f32],
        dst: &mut [f32],
        channels: usize,
        height: usize,
        width: usize,
        rng: &mut R,
    ) {
        let symmetric = |rng: &mut R, max: f64| {
            if max > 0.0 {
                rng.random_range(-max..=max)
            } else {
                0.0
            }
        };
        let angle = symmetric(rng, self.rotate_degrees).to_radians();
        let shear = symmetric(rng, self.shear);
        let scale = 1.0 + symmetric(rng, self.scale);
        let m = self.shift as f64;
        let (ty, tx) = (symmetric(rng, m).round(), symmetric(rng, m).round());
        let (sin, cos) = angle.sin_cos();
        // Output -> source: rotate, shear, then undo the scale.
        let map = [
            [cos / scale, (cos * shear - sin) / scale],
            [sin / scale, (sin * shear + cos) / scale],
        ];
        affine_into(src, dst, [channels, height, width], map, [ty, tx]);
        if self.noise > 0.0 && rng.random_bool(0.5) {
            for v in dst.iter_mut() {
                // Box-Muller: one standard normal from two uniforms.
                let (u1, u2): (f64, f64) = (rng.random_range(f64::EPSILON..1.0), rng.random());
                let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                *v = (*v as f64 + self.noise * z).clamp(0.0, 1.0) as f32;
            }
        }
        if self.contrast > 0.0 && rng.random_bool(0.5) {
            let f = 1.0 + symmetric(rng, self.contrast) as f32;
            let mean = dst.iter().sum::<f32>() / dst.len() as f32;
            for v in dst.iter_mut() {
                *v = (mean + f * (*v - mean)).clamp(0.0, 1.0);
            }
        }
        let side = self.cutout.min(height).min(width);
        if side > 0 {
            let y0 = rng.random_range(0..=height - side);
            let x0 = rng.random_range(0..=width - side);
            for c in 0..channels {
                for y in y0..y0 + side {
                    dst[(c * height + y) * width + x0..][..side].fill(0.5);
                }
            }
        }
    }
}

/// `dst(p) = src(map · (p - centre - shift) + centre)` with bilinear sampling and zero fill
/// outside the image; `map` is row-major over (y, x), `shift` is (dy, dx).
pub fn affine_into(
    src: &[f32],
    dst: &mut [f32],
    [channels, height, width]: [usize; 3],
    map: [[f64; 2]; 2],
    shift: [f64; 2],
) {
    let (cy, cx) = ((height as f64 - 1.0) / 2.0, (width as f64 - 1.0) / 2.0);
    let at = |plane: &[f32], y: i64, x: i64| -> f32 {
        if y < 0 || x < 0 || y >= height as i64 || x >= width as i64 {
            0.0
        } else {
            plane[y as usize * width + x as usize]
        }
    };
    for c in 0..channels {
        let plane = &src[c * height * width..][..height * width];
        let out = &mut dst[c * height * width..][..height * width];
        for y in 0..height {
            for x in 0..width {
                let (v, u) = (y as f64 - cy - shift[0], x as f64 - cx - shift[1]);
                let sy = map[0][0] * v + map[0][1] * u + cy;
                let sx = map[1][0] * v + map[1][1] * u + cx;
                let (y0, x0) = (sy.floor(), sx.floor());
                let (fy, fx) = ((sy - y0) as f32, (sx - x0) as f32);
                let (y0, x0) = (y0 as i64, x0 as i64);
                let top = at(plane, y0, x0) * (1.0 - fx) + at(plane, y0, x0 + 1) * fx;
                let bottom = at(plane, y0 + 1, x0) * (1.0 - fx) + at(plane, y0 + 1, x0 + 1) * fx;
                out[y * width + x] = top * (1.0 - fy) + bottom * fy;
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
    fn affine_identity_and_quarter_turn() {
        let src = ramp(1, 3, 3);
        let mut dst = vec![0.0; 9];
        affine_into(
            &src,
            &mut dst,
            [1, 3, 3],
            [[1.0, 0.0], [0.0, 1.0]],
            [0.0, 0.0],
        );
        assert_eq!(dst, src);
        // Source row = -(x - 1) + 1, column = y: the image turned a quarter.
        affine_into(
            &src,
            &mut dst,
            [1, 3, 3],
            [[0.0, -1.0], [1.0, 0.0]],
            [0.0, 0.0],
        );
        assert_eq!(dst, [7.0, 4.0, 1.0, 8.0, 5.0, 2.0, 9.0, 6.0, 3.0]);
    }

    #[test]
    fn strong_views_keep_shape_and_range_and_differ() {
        use rand::SeedableRng;
        let aug = StrongAugment {
            rotate_degrees: 30.0,
            shear: 0.3,
            scale: 0.2,
            shift: 3,
            noise: 0.1,
            contrast: 0.5,
            cutout: 10,
        };
        let src: Vec<f32> = (0..784).map(|i| ((i * 37) % 256) as f32 / 255.0).collect();
        let mut rng = rand_pcg::Pcg64::seed_from_u64(3);
        let (mut a, mut b) = (vec![0.0; 784], vec![0.0; 784]);
        aug.apply(&src, &mut a, 1, 28, 28, &mut rng);
        aug.apply(&src, &mut b, 1, 28, 28, &mut rng);
        assert!(a.iter().chain(&b).all(|v| (0.0..=1.0).contains(v)));
        assert!(
            a.iter().filter(|&&v| v == 0.5).count() >= 100,
            "a 10x10 cutout"
        );
        assert_ne!(a, b);
        assert_ne!(a, src);
        let same = StrongAugment::default();
        same.apply(&src, &mut a, 1, 28, 28, &mut rng);
        assert_eq!(a, src, "all strengths 0: the identity");
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
