//! Detection canvases built from real images: several digits (or Fashion-MNIST items) pasted
//! at random positions and scales on a black square, each with its class and the tight box of
//! its ink; optional clutter (unlabelled fragments of other images) and pixel noise. Written to
//! disk as 8-bit PNGs plus `boxes.csv` and `boxes.json` for other tools.
//!
//! Canvas `i` depends only on `(split, config, seed, i)`: a longer run of the same seed starts
//! with the same canvases, and generation runs in parallel without changing anything.

use std::path::Path;

use anyhow::{Context, Result, bail, ensure};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{BBox, Canvas, Object, image_io};
use crate::data::augment::resize_into;
use crate::data::{Dataset, Split};
use crate::util::rng::mix;
use crate::util::rng::standard_normal;

/// How canvases are laid out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CanvasConfig {
    /// Canvas side in pixels.
    pub size: usize,
    /// Objects per canvas, uniform in `min_objects..=max_objects` (fewer only when the canvas
    /// cannot fit them within `max_overlap`: each object gets [`ATTEMPTS`] placements).
    pub min_objects: usize,
    pub max_objects: usize,
    /// Side in pixels of a pasted image's whole frame (a 28x28 digit scaled to `s x s`, `s`
    /// uniform in `min_scale..=max_scale`; non-square images keep their aspect ratio, the
    /// longer side being `s`). MNIST ink fills about 20 of the 28 rows, so a digit's box is
    /// about `0.7 s` tall.
    pub min_scale: usize,
    pub max_scale: usize,
    /// Largest IoU allowed between two objects' boxes; overlapping digits are max-composited,
    /// so both stay visible.
    pub max_overlap: f32,
    /// A pixel of a scaled image is ink when above this; the ground-truth box is the tight
    /// box of the ink (not the image frame).
    pub ink_threshold: f32,
    /// Unlabelled fragments per canvas: a `clutter_crop`-pixel square cut from a random image
    /// of the same split, scaled like an object and placed clear of every object's box, so
    /// that background regions are not all empty black.
    pub clutter: usize,
    pub clutter_crop: usize,
    /// Standard deviation of Gaussian pixel noise added last (clamped to `[0, 1]`); 0 = none.
    pub noise_std: f32,
}

impl Default for CanvasConfig {
    fn default() -> Self {
        Self {
            size: 96,
            min_objects: 2,
            max_objects: 4,
            min_scale: 24,
            max_scale: 52,
            max_overlap: 0.1,
            ink_threshold: 0.1,
            clutter: 2,
            clutter_crop: 7,
            noise_std: 0.0,
        }
    }
}

/// Random placements tried per object or fragment before it is dropped.
pub const ATTEMPTS: usize = 100;

impl CanvasConfig {
    /// Checks the settings; [`generate`] expects a config that passed.
    pub fn validate(&self) -> Result<()> {
        ensure!(
            self.size >= 8,
            "canvas size {} is below 8 pixels",
            self.size
        );
        ensure!(
            self.min_objects <= self.max_objects,
            "min_objects {} exceeds max_objects {}",
            self.min_objects,
            self.max_objects
        );
        ensure!(
            1 <= self.min_scale && self.min_scale <= self.max_scale,
            "need 1 <= min_scale <= max_scale, got {} and {}",
            self.min_scale,
            self.max_scale
        );
        ensure!(
            self.max_scale <= self.size,
            "max_scale {} exceeds the canvas size {}",
            self.max_scale,
            self.size
        );
        ensure!(
            (0.0..=1.0).contains(&self.max_overlap),
            "max_overlap {} is not in [0, 1]",
            self.max_overlap
        );
        ensure!(
            (0.0..1.0).contains(&self.ink_threshold),
            "ink_threshold {} is not in [0, 1)",
            self.ink_threshold
        );
        ensure!(
            self.clutter == 0 || self.clutter_crop >= 1,
            "clutter_crop must be at least 1 pixel"
        );
        ensure!(
            self.noise_std >= 0.0 && self.noise_std.is_finite(),
            "noise_std {} must be finite and >= 0",
            self.noise_std
        );
        Ok(())
    }
}

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

/// `boxes.json`: every canvas (also those without objects) and its objects.
#[derive(Serialize, Deserialize)]
struct BoxesJson {
    size: usize,
    canvases: Vec<CanvasJson>,
}

#[derive(Serialize, Deserialize)]
struct CanvasJson {
    image: String,
    objects: Vec<ObjectJson>,
}

#[derive(Serialize, Deserialize)]
struct ObjectJson {
    class: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    class_name: Option<String>,
    x1: f32,
    y1: f32,
    x2: f32,
    y2: f32,
}

/// The file name of canvas `i` in a directory written by [`write_dir`].
pub fn image_name(i: usize) -> String {
    format!("canvas_{i:05}.png")
}

/// Writes `canvas_00000.png`, ... (8-bit gray, value `round(255 p)`), `boxes.csv` (columns
/// `image, class, x1, y1, x2, y2, class_name`; one row per object; boxes cover
/// `[x1, x2) x [y1, y2)` in pixels) and `boxes.json` (`{"size", "canvases": [{"image",
/// "objects": [{"class", "class_name", "x1", "y1", "x2", "y2"}]}]}`, listing canvases
/// without objects too) into `dir`, creating it.
pub fn write_dir(dir: &Path, canvases: &[Canvas], class_names: Option<&[String]>) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name_of = |class: usize| class_names.and_then(|n| n.get(class)).cloned();
    let csv_path = dir.join("boxes.csv");
    let mut csv = csv::Writer::from_path(&csv_path)
        .with_context(|| format!("creating {}", csv_path.display()))?;
    csv.write_record(["image", "class", "x1", "y1", "x2", "y2", "class_name"])?;
    let mut json = BoxesJson {
        size: canvases.first().map_or(0, |c| c.size),
        canvases: Vec::with_capacity(canvases.len()),
    };
    for (i, canvas) in canvases.iter().enumerate() {
        let image = image_name(i);
        let bytes: Vec<u8> = canvas
            .pixels
            .iter()
            .map(|&v| image_io::to_byte(v))
            .collect();
        image_io::write_png(&dir.join(&image), canvas.size, canvas.size, false, &bytes)?;
        let mut objects = Vec::with_capacity(canvas.objects.len());
        for o in &canvas.objects {
            let b = o.bbox;
            let class_name = name_of(o.class);
            csv.write_record([
                image.clone(),
                o.class.to_string(),
                b.x1.to_string(),
                b.y1.to_string(),
                b.x2.to_string(),
                b.y2.to_string(),
                class_name.clone().unwrap_or_default(),
            ])?;
            objects.push(ObjectJson {
                class: o.class,
                class_name,
                x1: b.x1,
                y1: b.y1,
                x2: b.x2,
                y2: b.y2,
            });
        }
        json.canvases.push(CanvasJson { image, objects });
    }
    csv.flush()
        .with_context(|| format!("writing {}", csv_path.display()))?;
    let json_path = dir.join("boxes.json");
    std::fs::write(&json_path, serde_json::to_string_pretty(&json)? + "\n")
        .with_context(|| format!("writing {}", json_path.display()))
}

/// Reads a directory written by [`write_dir`] (its `boxes.json` and PNGs); pixels come back
/// quantised to multiples of 1/255.
pub fn read_dir(dir: &Path) -> Result<Vec<Canvas>> {
    let json_path = dir.join("boxes.json");
    let text = std::fs::read_to_string(&json_path)
        .with_context(|| format!("reading {}", json_path.display()))?;
    let boxes: BoxesJson =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", json_path.display()))?;
    boxes
        .canvases
        .into_iter()
        .map(|c| {
            let path = dir.join(&c.image);
            let (w, h, bytes) = image_io::read_gray_png(&path)?;
            if w != boxes.size || h != boxes.size {
                bail!(
                    "{}: {w}x{h}, but boxes.json says {}x{}",
                    path.display(),
                    boxes.size,
                    boxes.size
                );
            }
            Ok(Canvas {
                size: boxes.size,
                pixels: bytes.iter().map(|&b| f32::from(b) / 255.0).collect(),
                objects: c
                    .objects
                    .iter()
                    .map(|o| Object {
                        bbox: BBox::new(o.x1, o.y1, o.x2, o.y2),
                        class: o.class,
                    })
                    .collect(),
            })
        })
        .collect()
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

    #[test]
    fn written_pngs_and_box_files_read_back() {
        let data = mnist();
        let canvases = generate(&data.test, &CanvasConfig::default(), 4, 2);
        let dir = tempfile::tempdir().unwrap();
        let names: Vec<String> = (0..10).map(|d| format!("digit{d}")).collect();
        write_dir(dir.path(), &canvases, Some(&names)).unwrap();
        let back = read_dir(dir.path()).unwrap();
        assert_eq!(back.len(), canvases.len());
        for (a, b) in canvases.iter().zip(&back) {
            assert_eq!(a.objects, b.objects);
            for (p, q) in a.pixels.iter().zip(&b.pixels) {
                assert!((p - q).abs() <= 0.5 / 255.0 + 1e-6);
            }
        }
        let (w, h, bytes) = image_io::read_gray_png(&dir.path().join("canvas_00003.png")).unwrap();
        assert_eq!((w, h), (96, 96));
        assert_eq!(
            bytes[5 * 96 + 7],
            image_io::to_byte(canvases[3].pixels[5 * 96 + 7])
        );
        let mut rows = csv::Reader::from_path(dir.path().join("boxes.csv")).unwrap();
        let header: Vec<String> = rows.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(
            header,
            ["image", "class", "x1", "y1", "x2", "y2", "class_name"]
        );
        let records: Vec<csv::StringRecord> = rows.records().map(|r| r.unwrap()).collect();
        let total: usize = canvases.iter().map(|c| c.objects.len()).sum();
        assert_eq!(records.len(), total);
        let first = &canvases[0].objects[0];
        assert_eq!(&records[0][0], "canvas_00000.png");
        assert_eq!(records[0][1].parse::<usize>().unwrap(), first.class);
        assert_eq!(records[0][2].parse::<f32>().unwrap(), first.bbox.x1);
        assert_eq!(records[0][5].parse::<f32>().unwrap(), first.bbox.y2);
        assert_eq!(&records[0][6], names[first.class]);
    }

    #[test]
    fn configs_read_from_toml_with_defaults() {
        use crate::detection::selective_search::{Channel, SelectiveSearchConfig};
        let cfg: CanvasConfig = toml::from_str("size = 128\nclutter = 0").unwrap();
        assert_eq!((cfg.size, cfg.clutter), (128, 0));
        assert_eq!(cfg.max_objects, CanvasConfig::default().max_objects);
        assert!(toml::from_str::<CanvasConfig>("sise = 128").is_err());
        let ss: SelectiveSearchConfig =
            toml::from_str("ks = [50.0]\nchannels = [\"sqrt\"]").unwrap();
        assert_eq!((ss.ks, ss.channels), (vec![50.0], vec![Channel::Sqrt]));
        assert_eq!(ss.min_size, SelectiveSearchConfig::default().min_size);
    }

    #[test]
    fn bad_configs_are_rejected() {
        let ok = CanvasConfig::default();
        assert!(ok.validate().is_ok());
        let bad = [
            CanvasConfig {
                min_objects: 5,
                ..ok.clone()
            },
            CanvasConfig {
                max_scale: 200,
                ..ok.clone()
            },
            CanvasConfig {
                max_overlap: 1.5,
                ..ok.clone()
            },
        ];
        for cfg in bad {
            assert!(cfg.validate().is_err(), "{cfg:?}");
        }
    }
}
