//! Detection canvases built from real images: several digits (or Fashion-MNIST items) pasted
//! at random positions and scales on a black square, each with its class and the tight box of
//! its ink; optional clutter (unlabelled fragments of other images) and pixel noise. Written to
//! disk as 8-bit PNGs plus `boxes.csv` and `boxes.json` for other tools.
//!
//! Canvas `i` depends only on `(split, config, seed, i)`: a longer run of the same seed starts
//! with the same canvases, and generation runs in parallel without changing anything.

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;
use rayon::prelude::*;

use super::{BBox, Canvas, Object};
use crate::data::augment::resize_into;
use crate::data::{Dataset, Split};
use crate::util::rng::mix;
use crate::util::rng::standard_normal;

pub use super::canvas_config::{ATTEMPTS, CanvasConfig};
pub use super::canvas_io::{image_name, read_dir, write_dir};

/// `count` canvases from the images of `split` (pass the train split for training canvases
/// and the test split for test canvases). Multi-channel images are turned gray by averaging
/// their channels.
///
/// # Panics
/// If `cfg` fails [`CanvasConfig::validate`] or `split` is empty.
pub fn generate(split: &Split, cfg: &CanvasConfig, count: usize, seed: u64) -> Vec<Canvas> {
    if let Err(e) = cfg.validate() {
        panic!("invalid canvas config: {e}");
    }
    assert!(split.n > 0, "cannot build canvases from an empty split");
    (0..count)
        .into_par_iter()
        .map(|i| render(split, cfg, &mut Pcg64::seed_from_u64(mix(seed, i as u64))).0)
        .collect()
}

const TRAIN_STREAM: u64 = 0x7472_6169_6e00;
const TEST_STREAM: u64 = 0x7465_7374_0000;

/// Training canvases from `dataset.train` and test canvases from `dataset.test`, from
/// unrelated streams of `seed`.
pub fn generate_splits(
    dataset: &Dataset,
    cfg: &CanvasConfig,
    train_count: usize,
    test_count: usize,
    seed: u64,
) -> (Vec<Canvas>, Vec<Canvas>) {
    (
        generate(&dataset.train, cfg, train_count, mix(seed, TRAIN_STREAM)),
        generate(&dataset.test, cfg, test_count, mix(seed, TEST_STREAM)),
    )
}

/// A scaled image (or fragment) ready to paste: its pixels, frame position and size, and its
/// ink box in canvas coordinates.
struct Patch {
    pixels: Vec<f32>,
    x: usize,
    y: usize,
    width: usize,
    height: usize,
    ink: BBox,
}

/// One canvas, and the split index of each object's image (for tests).
fn render(split: &Split, cfg: &CanvasConfig, rng: &mut Pcg64) -> (Canvas, Vec<usize>) {
    let size = cfg.size;
    let mut pixels = vec![0.0f32; size * size];
    let mut objects: Vec<Object> = Vec::new();
    let mut sources = Vec::new();
    let want = rng.random_range(cfg.min_objects..=cfg.max_objects);
    for _ in 0..want {
        let placed = (0..ATTEMPTS).find_map(|_| {
            let index = rng.random_range(0..split.n);
            let patch = scaled_patch(split, index, None, cfg, rng)?;
            let clear = objects
                .iter()
                .all(|o| o.bbox.iou(&patch.ink) <= cfg.max_overlap);
            clear.then_some((index, patch))
        });
        let Some((index, patch)) = placed else { break };
        paste(&mut pixels, size, &patch);
        objects.push(Object {
            bbox: patch.ink,
            class: usize::from(split.labels[index]),
        });
        sources.push(index);
    }
    for _ in 0..cfg.clutter {
        let placed = (0..ATTEMPTS).find_map(|_| {
            let index = rng.random_range(0..split.n);
            let crop = cfg.clutter_crop.min(split.height).min(split.width);
            let cy = rng.random_range(0..=split.height - crop);
            let cx = rng.random_range(0..=split.width - crop);
            let patch = scaled_patch(split, index, Some((cy, cx, crop)), cfg, rng)?;
            // The whole frame, not just the ink, so no faint pixel lands in an object's box.
            let frame = BBox::new(
                patch.x as f32,
                patch.y as f32,
                (patch.x + patch.width) as f32,
                (patch.y + patch.height) as f32,
            );
            let clear = objects.iter().all(|o| overlap_area(&o.bbox, &frame) == 0.0);
            clear.then_some(patch)
        });
        if let Some(patch) = placed {
            paste(&mut pixels, size, &patch);
        }
    }
    if cfg.noise_std > 0.0 {
        for v in &mut pixels {
            *v = (*v + cfg.noise_std * standard_normal(rng) as f32).clamp(0.0, 1.0);
        }
    }
    let canvas = Canvas {
        size,
        pixels,
        objects,
    };
    (canvas, sources)
}

fn overlap_area(a: &BBox, b: &BBox) -> f32 {
    BBox::new(
        a.x1.max(b.x1),
        a.y1.max(b.y1),
        a.x2.min(b.x2),
        a.y2.min(b.y2),
    )
    .area()
}

/// Image `index` of `split` in gray (or its square crop `(y, x, side)`), scaled by a random
/// factor and put at a random position; `None` when it holds no ink.
fn scaled_patch(
    split: &Split,
    index: usize,
    crop: Option<(usize, usize, usize)>,
    cfg: &CanvasConfig,
    rng: &mut Pcg64,
) -> Option<Patch> {
    let (h, w) = (split.height, split.width);
    let gray = gray_image(split, index);
    let (src, sh, sw) = match crop {
        None => (gray, h, w),
        Some((cy, cx, side)) => {
            let cut = (0..side)
                .flat_map(|r| gray[(cy + r) * w + cx..][..side].iter().copied())
                .collect();
            (cut, side, side)
        }
    };
    // The frame's longer side becomes `s`; a crop is scaled by the same factor.
    let s = rng.random_range(cfg.min_scale..=cfg.max_scale) as f64;
    let factor = s / h.max(w) as f64;
    let height = ((sh as f64 * factor).round() as usize).clamp(1, cfg.size);
    let width = ((sw as f64 * factor).round() as usize).clamp(1, cfg.size);
    let mut pixels = Vec::with_capacity(height * width);
    resize_into(&src, 1, sh, sw, height, width, &mut pixels);
    let y = rng.random_range(0..=cfg.size - height);
    let x = rng.random_range(0..=cfg.size - width);
    let ink = ink_box(&pixels, width, cfg.ink_threshold)?;
    Some(Patch {
        ink: BBox::new(
            ink.x1 + x as f32,
            ink.y1 + y as f32,
            ink.x2 + x as f32,
            ink.y2 + y as f32,
        ),
        pixels,
        x,
        y,
        width,
        height,
    })
}

fn gray_image(split: &Split, index: usize) -> Vec<f32> {
    let img = split.image(index);
    let plane = split.height * split.width;
    if split.channels == 1 {
        return img.to_vec();
    }
    let c = split.channels as f32;
    (0..plane)
        .map(|p| img.iter().skip(p).step_by(plane).sum::<f32>() / c)
        .collect()
}

/// The tight box `[x1, x2) x [y1, y2)` of the pixels above `threshold` of a `width`-wide image.
pub fn ink_box(pixels: &[f32], width: usize, threshold: f32) -> Option<BBox> {
    let (mut x1, mut y1, mut x2, mut y2) = (usize::MAX, usize::MAX, 0, 0);
    for (i, _) in pixels.iter().enumerate().filter(|(_, v)| **v > threshold) {
        let (y, x) = (i / width, i % width);
        x1 = x1.min(x);
        y1 = y1.min(y);
        x2 = x2.max(x + 1);
        y2 = y2.max(y + 1);
    }
    (x1 != usize::MAX).then(|| BBox::new(x1 as f32, y1 as f32, x2 as f32, y2 as f32))
}

/// Max-composites `patch` onto the `size`-wide canvas.
fn paste(pixels: &mut [f32], size: usize, patch: &Patch) {
    for r in 0..patch.height {
        let src = &patch.pixels[r * patch.width..][..patch.width];
        let dst = &mut pixels[(patch.y + r) * size + patch.x..][..patch.width];
        for (d, s) in dst.iter_mut().zip(src) {
            *d = d.max(*s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::DataOptions;

    fn mnist() -> Dataset {
        crate::data::load("mnist-10k", &DataOptions::default()).expect("shipped mnist-10k")
    }

    #[test]
    fn canvases_are_deterministic_and_prefix_stable() {
        let data = mnist();
        let cfg = CanvasConfig::default();
        let a = generate(&data.test, &cfg, 20, 7);
        let b = generate(&data.test, &cfg, 30, 7);
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.pixels, y.pixels);
            assert_eq!(x.objects, y.objects);
        }
        let c = generate(&data.test, &cfg, 20, 8);
        assert!(a.iter().zip(&c).any(|(x, y)| x.pixels != y.pixels));
    }

    #[test]
    fn boxes_are_tight_around_each_digit_and_respect_the_overlap_limit() {
        let data = mnist();
        let cfg = CanvasConfig {
            clutter: 0,
            ..CanvasConfig::default()
        };
        let split = &data.train;
        let mut counts = [0usize; 5];
        for i in 0..60u64 {
            let (canvas, sources) = render(split, &cfg, &mut Pcg64::seed_from_u64(mix(3, i)));
            assert!((cfg.min_objects..=cfg.max_objects).contains(&canvas.objects.len()));
            counts[canvas.objects.len()] += 1;
            for (k, (o, &src)) in canvas.objects.iter().zip(&sources).enumerate() {
                assert_eq!(o.class, usize::from(split.labels[src]));
                for other in &canvas.objects[k + 1..] {
                    assert!(o.bbox.iou(&other.bbox) <= cfg.max_overlap);
                }
                // Every row and column at the box's border holds ink; nothing outside the
                // box but other objects' ink does.
                let b = o.bbox;
                let (x1, y1, x2, y2) = (b.x1 as usize, b.y1 as usize, b.x2 as usize, b.y2 as usize);
                let px = |x: usize, y: usize| canvas.pixels[y * canvas.size + x];
                let thr = cfg.ink_threshold;
                assert!((x1..x2).any(|x| px(x, y1) > thr) && (x1..x2).any(|x| px(x, y2 - 1) > thr));
                assert!((y1..y2).any(|y| px(x1, y) > thr) && (y1..y2).any(|y| px(x2 - 1, y) > thr));
                assert!(b.height() >= 8.0 && b.height() <= cfg.max_scale as f32);
            }
            // All ink lies inside some object's box (no clutter here).
            for y in 0..canvas.size {
                for x in 0..canvas.size {
                    if px_in(&canvas, x, y) > cfg.ink_threshold {
                        let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
                        assert!(canvas.objects.iter().any(|o| {
                            o.bbox.x1 < fx && fx < o.bbox.x2 && o.bbox.y1 < fy && fy < o.bbox.y2
                        }));
                    }
                }
            }
        }
        assert!(counts[2] > 0 && counts[4] > 0, "{counts:?}");
    }

    fn px_in(c: &Canvas, x: usize, y: usize) -> f32 {
        c.pixels[y * c.size + x]
    }

    #[test]
    fn a_pasted_digit_is_its_source_image_scaled() {
        let data = mnist();
        let cfg = CanvasConfig {
            min_objects: 1,
            max_objects: 1,
            min_scale: 28,
            max_scale: 28,
            clutter: 0,
            ..CanvasConfig::default()
        };
        // At scale 1 the canvas holds the source image's pixels exactly, so the split an
        // object came from is checkable: it is the one passed in.
        for (split, other) in [(&data.train, &data.test), (&data.test, &data.train)] {
            for i in 0..10u64 {
                let (canvas, sources) = render(split, &cfg, &mut Pcg64::seed_from_u64(i));
                let img = split.image(sources[0]);
                let ink = ink_box(img, 28, cfg.ink_threshold).unwrap();
                let b = canvas.objects[0].bbox;
                let (ox, oy) = ((b.x1 - ink.x1) as usize, (b.y1 - ink.y1) as usize);
                let window: Vec<f32> = (0..28)
                    .flat_map(|r| canvas.pixels[(oy + r) * 96 + ox..][..28].to_vec())
                    .collect();
                assert_eq!(window, img);
                let in_other = (0..other.n).any(|j| other.image(j) == &window[..]);
                assert!(!in_other, "mnist-10k's train and test images are distinct");
            }
        }
    }

    #[test]
    fn clutter_stays_clear_of_objects_and_splits_use_their_own_images() {
        let data = mnist();
        let cfg = CanvasConfig {
            clutter: 4,
            ..CanvasConfig::default()
        };
        let (train, test) = generate_splits(&data, &cfg, 5, 5, 1);
        assert_eq!(
            train[0].pixels,
            generate(&data.train, &cfg, 1, mix(1, TRAIN_STREAM))[0].pixels
        );
        assert_eq!(
            test[0].pixels,
            generate(&data.test, &cfg, 1, mix(1, TEST_STREAM))[0].pixels
        );
        let plain = CanvasConfig {
            clutter: 0,
            ..cfg.clone()
        };
        for i in 0..20u64 {
            let seed = mix(4, i);
            let (with, _) = render(&data.test, &cfg, &mut Pcg64::seed_from_u64(seed));
            let (without, _) = render(&data.test, &plain, &mut Pcg64::seed_from_u64(seed));
            // Clutter is drawn after the objects, so the objects are the same and the pixels
            // inside their boxes are untouched.
            assert_eq!(with.objects, without.objects);
            for o in &with.objects {
                for y in o.bbox.y1 as usize..o.bbox.y2 as usize {
                    for x in o.bbox.x1 as usize..o.bbox.x2 as usize {
                        assert_eq!(px_in(&with, x, y), px_in(&without, x, y));
                    }
                }
            }
        }
    }
}
