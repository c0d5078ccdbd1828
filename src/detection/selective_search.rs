//! Selective search (Uijlings et al. 2013), the region proposals of R-CNN: hierarchical
//! grouping of Felzenszwalb-Huttenlocher segments, diversified over image channels, `k` and
//! similarity measures ("fast mode"), every region ever formed giving one box.
//!
//! Grouping: start from the segments of [`segment`](super::segment); repeatedly merge the most
//! similar pair of adjacent regions (8-connected) until one region is left. The similarity is
//! the sum of those enabled among
//! - colour: intersection of the regions' 25-bin intensity histograms (L1-normalised);
//! - texture: intersection of their texture histograms: Gaussian derivatives (sigma 1) in 8
//!   orientations (every 45 degrees), each orientation's positive response, divided by the
//!   image's largest gradient magnitude, in 10 bins (80 bins, L1-normalised);
//! - size: `1 - (size_i + size_j) / size_im`, merging small regions first;
//! - fill: `1 - (size(BB_ij) - size_i - size_j) / size_im`, merging regions that fill each
//!   other's gaps.
//!
//! A merged region's histograms are the size-weighted means of its parts', as in the paper.
//!
//! Colour spaces: the paper diversifies over HSV, Lab, rgI, ... which do not exist for gray
//! canvases. Their role, different invariances that change which boundaries the segmentation
//! and the colour similarity see, is taken by [`Channel`]s: the intensity itself, its square
//! root (a gamma curve that raises faint anti-aliased stroke edges and thin strokes towards the
//! stroke intensity, so digits segment as thicker, more connected shapes) and a blurred copy
//! (sigma 1.5, which bridges small gaps between the strokes of one digit). An inverted
//! intensity would not do: the segmentation and every similarity are unchanged by `1 - I`.
//!
//! Ranking (paper, Sec. 3.3): within a strategy the region formed last (the whole image) has
//! position 1, the one before it 2, and so on down to the initial segments; each position is
//! multiplied by a uniform random number from a seeded RNG, the boxes of all strategies are
//! sorted by that value, and duplicates keep their first place.

use std::collections::HashSet;

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;
use rayon::prelude::*;

use super::segment::{GridGraph, for_each_neighbour, gaussian_blur};
use super::{BBox, Canvas};
use crate::util::rng::mix;

/// The gray-level stand-ins for the paper's colour spaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The canvas as it is.
    Intensity,
    /// `sqrt(I)`: faint stroke edges pulled towards the stroke.
    Sqrt,
    /// The canvas blurred by a Gaussian of sigma 1.5.
    Blurred,
}

/// Which similarities are summed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Similarities {
    pub colour: bool,
    pub texture: bool,
    pub size: bool,
    pub fill: bool,
}

impl Similarities {
    /// C+T+S+F.
    pub const ALL: Self = Self {
        colour: true,
        texture: true,
        size: true,
        fill: true,
    };
    /// T+S+F.
    pub const TSF: Self = Self {
        colour: false,
        texture: true,
        size: true,
        fill: true,
    };
}

/// The smallest initial segment of a Felzenszwalb-Huttenlocher segmentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MinSize {
    /// A fixed number of pixels for every k.
    Pixels(usize),
    /// Each segmentation's k, rounded to whole pixels (R-CNN's selective_search_boxes.m sets
    /// `minSize = k`).
    K,
}

impl MinSize {
    /// The size in pixels for a segmentation at scale `k`.
    pub fn pixels(self, k: f32) -> usize {
        match self {
            Self::Pixels(n) => n,
            Self::K => k.round().max(0.0) as usize,
        }
    }
}

impl serde::Serialize for MinSize {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Pixels(n) => s.serialize_u64(*n as u64),
            Self::K => s.serialize_str("k"),
        }
    }
}

impl<'de> serde::Deserialize<'de> for MinSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = MinSize;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number of pixels (0 or more) or \"k\" (min size = k, as R-CNN)")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<MinSize, E> {
                usize::try_from(v)
                    .map(MinSize::Pixels)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<MinSize, E> {
                u64::try_from(v)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(v), &self))
                    .and_then(|v| self.visit_u64(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<MinSize, E> {
                if v == "k" {
                    Ok(MinSize::K)
                } else {
                    Err(E::invalid_value(serde::de::Unexpected::Str(v), &self))
                }
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// Selective-search settings; the strategies are every combination of a channel, a `k` and a
/// similarity set.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SelectiveSearchConfig {
    pub channels: Vec<Channel>,
    /// Felzenszwalb-Huttenlocher scales, on the 0-255 intensity scale.
    pub ks: Vec<f32>,
    /// Smoothing before segmentation.
    pub sigma: f32,
    /// Smallest initial segment: a number of pixels, or `"k"` for each segmentation's own k
    /// (the reference, selective_search_boxes.m: `minSize = k`).
    pub min_size: MinSize,
    pub similarities: Vec<Similarities>,
    /// Keep the first N ranked boxes (0 = all).
    pub max_proposals: usize,
    /// Drop boxes narrower or lower than this many pixels.
    pub min_box_side: f32,
}

impl Default for SelectiveSearchConfig {
    /// Fast mode as R-CNN runs it (selective_search_boxes.m): 2 channels x 2 ks x 2 similarity
    /// sets, as the paper's 2 colour spaces x ks 50, 100 x 2 similarity sets, each
    /// segmentation's minimum segment size its own k. On 96x96 digit canvases that gives
    /// recall 0.96 at IoU 0.5 with about 26 boxes per canvas; k 100, 200 with segments of 20
    /// pixels, this project's earlier default, gives 0.99 with about 86 (the measurements are
    /// in docs/results/rcnn.md).
    fn default() -> Self {
        Self {
            channels: vec![Channel::Intensity, Channel::Sqrt],
            ks: vec![50.0, 100.0],
            sigma: 0.8,
            min_size: MinSize::K,
            similarities: vec![Similarities::ALL, Similarities::TSF],
            max_proposals: 0,
            min_box_side: 4.0,
        }
    }
}

impl SelectiveSearchConfig {
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(!self.channels.is_empty(), "no channels");
        anyhow::ensure!(!self.ks.is_empty(), "no k values");
        anyhow::ensure!(
            self.ks.iter().all(|k| k.is_finite() && *k > 0.0),
            "every k must be positive: {:?}",
            self.ks
        );
        anyhow::ensure!(!self.similarities.is_empty(), "no similarity sets");
        anyhow::ensure!(
            self.similarities
                .iter()
                .all(|s| s.colour || s.texture || s.size || s.fill),
            "a similarity set enables nothing"
        );
        anyhow::ensure!(
            self.sigma >= 0.0 && self.sigma.is_finite(),
            "sigma must be >= 0"
        );
        Ok(())
    }
}

const COLOUR_BINS: usize = 25;
const ORIENTATIONS: usize = 8;
const TEXTURE_BINS: usize = 10;
const TEXTURE_LEN: usize = ORIENTATIONS * TEXTURE_BINS;

/// Ranked, deduplicated proposals for one canvas.
pub fn propose(canvas: &Canvas, cfg: &SelectiveSearchConfig, seed: u64) -> Vec<BBox> {
    let (w, h) = (canvas.size, canvas.size);
    let mut ranked: Vec<(f64, BBox)> = Vec::new();
    let mut strategy = 0u64;
    for &channel in &cfg.channels {
        let features = Features::new(
            &channel_image(&canvas.pixels, w, h, channel),
            w,
            h,
            cfg.sigma,
        );
        for &k in &cfg.ks {
            let (labels, n) = features.graph.segment(k, cfg.min_size.pixels(k));
            let initial = initial_regions(&features, &labels, n, w);
            let adjacent = adjacency(&labels, w, h);
            for &sims in &cfg.similarities {
                let boxes = group(initial.clone(), &adjacent, sims, (w * h) as f32);
                let mut rng = Pcg64::seed_from_u64(mix(seed, strategy));
                let total = boxes.len();
                for (i, b) in boxes.into_iter().enumerate() {
                    let position = (total - i) as f64;
                    ranked.push((position * rng.random::<f64>(), b));
                }
                strategy += 1;
            }
        }
    }
    // Stable: equal values keep strategy and creation order.
    ranked.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (_, b) in ranked {
        if b.width() < cfg.min_box_side || b.height() < cfg.min_box_side {
            continue;
        }
        let key = [b.x1, b.y1, b.x2, b.y2].map(|v| v as u32);
        if seen.insert(key) {
            out.push(b);
            if out.len() == cfg.max_proposals {
                break;
            }
        }
    }
    out
}

/// [`propose`] for every canvas, in parallel; canvas `i` uses the seed `mix(seed, i)`, so the
/// result does not depend on the thread count.
pub fn propose_all(canvases: &[Canvas], cfg: &SelectiveSearchConfig, seed: u64) -> Vec<Vec<BBox>> {
    canvases
        .par_iter()
        .enumerate()
        .map(|(i, c)| propose(c, cfg, mix(seed, i as u64)))
        .collect()
}

/// The best IoU of any proposal with each ground-truth object, canvas by canvas.
///
/// # Panics
/// If the two slices differ in length.
pub fn best_overlaps(proposals: &[Vec<BBox>], canvases: &[Canvas]) -> Vec<f32> {
    assert_eq!(
        proposals.len(),
        canvases.len(),
        "one proposal list per canvas"
    );
    canvases
        .iter()
        .zip(proposals)
        .flat_map(|(c, props)| {
            c.objects
                .iter()
                .map(|o| props.iter().map(|p| p.iou(&o.bbox)).fold(0.0, f32::max))
        })
        .collect()
}

/// The fraction of ground-truth objects that some proposal of their canvas covers with
/// IoU >= `iou` (1 when there are no objects: none was missed).
pub fn recall(proposals: &[Vec<BBox>], canvases: &[Canvas], iou: f32) -> f64 {
    let best = best_overlaps(proposals, canvases);
    if best.is_empty() {
        return 1.0;
    }
    best.iter().filter(|&&b| b >= iou).count() as f64 / best.len() as f64
}

/// Mean average best overlap (the paper's MABO, here over all objects of all classes).
pub fn mabo(proposals: &[Vec<BBox>], canvases: &[Canvas]) -> f64 {
    let best = best_overlaps(proposals, canvases);
    best.iter().map(|&b| f64::from(b)).sum::<f64>() / best.len().max(1) as f64
}

fn channel_image(pixels: &[f32], w: usize, h: usize, channel: Channel) -> Vec<f32> {
    match channel {
        Channel::Intensity => pixels.to_vec(),
        Channel::Sqrt => pixels.iter().map(|v| v.max(0.0).sqrt()).collect(),
        Channel::Blurred => gaussian_blur(pixels, w, h, 1.5),
    }
}

/// Per-pixel data of one channel shared by every `k` and similarity set.
struct Features {
    graph: GridGraph,
    colour_bin: Vec<u8>,
    /// `ORIENTATIONS` bins per pixel, each already offset into the 80-bin histogram.
    texture_bin: Vec<[u8; ORIENTATIONS]>,
}

impl Features {
    fn new(img: &[f32], w: usize, h: usize, sigma: f32) -> Self {
        let colour_bin = img
            .iter()
            .map(|v| ((v.clamp(0.0, 1.0) * COLOUR_BINS as f32) as usize).min(COLOUR_BINS - 1) as u8)
            .collect();
        // Gaussian derivatives (sigma 1) as central differences of the smoothed image.
        let s = gaussian_blur(img, w, h, 1.0);
        let at = |x: usize, y: usize| s[y * w + x];
        let grads: Vec<(f32, f32)> = (0..h)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .map(|(x, y)| {
                let gx = (at((x + 1).min(w - 1), y) - at(x.saturating_sub(1), y)) * 0.5;
                let gy = (at(x, (y + 1).min(h - 1)) - at(x, y.saturating_sub(1))) * 0.5;
                (gx, gy)
            })
            .collect();
        let dirs: [(f32, f32); ORIENTATIONS] = std::array::from_fn(|o| {
            let a = o as f32 * std::f32::consts::FRAC_PI_4;
            (a.cos(), a.sin())
        });
        let largest = grads
            .iter()
            .map(|(gx, gy)| gx.hypot(*gy))
            .fold(0.0f32, f32::max)
            .max(1e-6);
        let texture_bin = grads
            .iter()
            .map(|(gx, gy)| {
                std::array::from_fn(|o| {
                    let r = (dirs[o].0 * gx + dirs[o].1 * gy).max(0.0) / largest;
                    let bin = ((r * TEXTURE_BINS as f32) as usize).min(TEXTURE_BINS - 1);
                    (o * TEXTURE_BINS + bin) as u8
                })
            })
            .collect();
        Self {
            graph: GridGraph::new(img, w, h, sigma),
            colour_bin,
            texture_bin,
        }
    }
}

#[derive(Clone)]
struct Region {
    size: f32,
    /// Pixel box `[x1, x2) x [y1, y2)`.
    bbox: [u32; 4],
    colour: [f32; COLOUR_BINS],
    texture: [f32; TEXTURE_LEN],
}

impl Region {
    fn merge(&self, other: &Region) -> Region {
        let size = self.size + other.size;
        let (a, b) = (self.size / size, other.size / size);
        Region {
            size,
            bbox: union_box(&self.bbox, &other.bbox),
            colour: std::array::from_fn(|i| a * self.colour[i] + b * other.colour[i]),
            texture: std::array::from_fn(|i| a * self.texture[i] + b * other.texture[i]),
        }
    }

    fn to_bbox(&self) -> BBox {
        let [x1, y1, x2, y2] = self.bbox.map(|v| v as f32);
        BBox::new(x1, y1, x2, y2)
    }
}

fn union_box(a: &[u32; 4], b: &[u32; 4]) -> [u32; 4] {
    [
        a[0].min(b[0]),
        a[1].min(b[1]),
        a[2].max(b[2]),
        a[3].max(b[3]),
    ]
}

fn initial_regions(f: &Features, labels: &[u32], n: usize, w: usize) -> Vec<Region> {
    let mut regions = vec![
        Region {
            size: 0.0,
            bbox: [u32::MAX, u32::MAX, 0, 0],
            colour: [0.0; COLOUR_BINS],
            texture: [0.0; TEXTURE_LEN],
        };
        n
    ];
    for (p, &l) in labels.iter().enumerate() {
        let r = &mut regions[l as usize];
        let (x, y) = ((p % w) as u32, (p / w) as u32);
        r.size += 1.0;
        r.bbox = union_box(&r.bbox, &[x, y, x + 1, y + 1]);
        r.colour[f.colour_bin[p] as usize] += 1.0;
        for &t in &f.texture_bin[p] {
            r.texture[t as usize] += 1.0;
        }
    }
    for r in &mut regions {
        r.colour.iter_mut().for_each(|v| *v /= r.size);
        let t = r.size * ORIENTATIONS as f32;
        r.texture.iter_mut().for_each(|v| *v /= t);
    }
    regions
}

/// Pairs `(a, b)`, `a < b`, of 8-connected adjacent segments, sorted.
fn adjacency(labels: &[u32], w: usize, h: usize) -> Vec<(usize, usize)> {
    let mut pairs = Vec::new();
    for_each_neighbour(w, h, |p, q| {
        let (a, b) = (labels[p], labels[q]);
        if a != b {
            pairs.push((a.min(b) as usize, a.max(b) as usize));
        }
    });
    pairs.sort_unstable();
    pairs.dedup();
    pairs
}

fn similarity(a: &Region, b: &Region, sims: Similarities, image_size: f32) -> f32 {
    let intersect = |p: &[f32], q: &[f32]| p.iter().zip(q).map(|(x, y)| x.min(*y)).sum::<f32>();
    let mut s = 0.0;
    if sims.colour {
        s += intersect(&a.colour, &b.colour);
    }
    if sims.texture {
        s += intersect(&a.texture, &b.texture);
    }
    if sims.size {
        s += 1.0 - (a.size + b.size) / image_size;
    }
    if sims.fill {
        let [x1, y1, x2, y2] = union_box(&a.bbox, &b.bbox);
        let bb = ((x2 - x1) * (y2 - y1)) as f32;
        s += 1.0 - (bb - a.size - b.size) / image_size;
    }
    s
}

/// Hierarchical grouping; the boxes of every region in order of creation (the initial
/// segments, then each merge).
fn group(
    mut regions: Vec<Region>,
    adjacent: &[(usize, usize)],
    sims: Similarities,
    image_size: f32,
) -> Vec<BBox> {
    let mut neighbours: Vec<Vec<usize>> = vec![Vec::new(); regions.len()];
    for &(a, b) in adjacent {
        neighbours[a].push(b);
        neighbours[b].push(a);
    }
    let mut pairs: Vec<(f32, usize, usize)> = adjacent
        .iter()
        .map(|&(a, b)| (similarity(&regions[a], &regions[b], sims, image_size), a, b))
        .collect();
    while let Some(best) = pairs
        .iter()
        .enumerate()
        .fold(None, |best: Option<(usize, f32)>, (i, p)| match best {
            Some((_, s)) if s >= p.0 => best,
            _ => Some((i, p.0)),
        })
        .map(|(i, _)| i)
    {
        let (_, a, b) = pairs[best];
        let t = regions.len();
        regions.push(regions[a].merge(&regions[b]));
        pairs.retain(|&(_, p, q)| p != a && p != b && q != a && q != b);
        let mut around: Vec<usize> = neighbours[a]
            .iter()
            .chain(&neighbours[b])
            .copied()
            .filter(|&n| n != a && n != b)
            .collect();
        around.sort_unstable();
        around.dedup();
        for &n in &around {
            neighbours[n].retain(|&m| m != a && m != b);
            neighbours[n].push(t);
            pairs.push((similarity(&regions[n], &regions[t], sims, image_size), n, t));
        }
        neighbours.push(around);
        neighbours[a].clear();
        neighbours[b].clear();
    }
    regions.iter().map(Region::to_bbox).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detection::Object;

    /// A 64x64 canvas: three rectangles of different intensities (one of them touching
    /// another) on a dark background with mild noise.
    fn rectangles() -> Canvas {
        let size = 64;
        let rects = [
            (BBox::new(4.0, 6.0, 24.0, 30.0), 0.9),
            (BBox::new(24.0, 10.0, 40.0, 22.0), 0.55),
            (BBox::new(36.0, 38.0, 60.0, 58.0), 0.75),
        ];
        let mut rng = Pcg64::seed_from_u64(3);
        let mut pixels = vec![0.05f32; size * size];
        for (b, v) in rects {
            for y in b.y1 as usize..b.y2 as usize {
                for x in b.x1 as usize..b.x2 as usize {
                    pixels[y * size + x] = v;
                }
            }
        }
        for p in &mut pixels {
            *p = (*p + 0.02 * crate::util::rng::standard_normal(&mut rng) as f32).clamp(0.0, 1.0);
        }
        let objects = rects
            .iter()
            .enumerate()
            .map(|(class, (bbox, _))| Object { bbox: *bbox, class })
            .collect();
        Canvas {
            size,
            pixels,
            objects,
        }
    }

    #[test]
    fn finds_the_rectangles_of_a_synthetic_image() {
        let canvas = rectangles();
        let props = propose(&canvas, &SelectiveSearchConfig::default(), 0);
        for o in &canvas.objects {
            let best = props.iter().map(|p| p.iou(&o.bbox)).fold(0.0, f32::max);
            assert!(best >= 0.9, "{:?}: best IoU {best}", o.bbox);
        }
        // The two touching rectangles as one object are proposed too (the hierarchy).
        let pair = BBox::new(4.0, 6.0, 40.0, 30.0);
        assert!(props.iter().any(|p| p.iou(&pair) >= 0.9));
        assert!(props.len() < 200, "{} proposals", props.len());
    }

    #[test]
    fn proposals_are_ranked_deduplicated_capped_and_deterministic() {
        let canvas = rectangles();
        let cfg = SelectiveSearchConfig::default();
        let all = propose(&canvas, &cfg, 5);
        assert_eq!(all, propose(&canvas, &cfg, 5));
        assert_ne!(all, propose(&canvas, &cfg, 6), "the seed reorders");
        let keys: HashSet<[u32; 4]> = all
            .iter()
            .map(|b| [b.x1, b.y1, b.x2, b.y2].map(|v| v as u32))
            .collect();
        assert_eq!(keys.len(), all.len());
        assert!(
            all.iter()
                .all(|b| b.width() >= cfg.min_box_side && b.height() >= cfg.min_box_side)
        );
        // The whole image is always proposed (the top of every hierarchy).
        assert!(all.contains(&BBox::new(0.0, 0.0, 64.0, 64.0)));
        let capped = propose(
            &canvas,
            &SelectiveSearchConfig {
                max_proposals: 7,
                ..cfg.clone()
            },
            5,
        );
        assert_eq!(capped, all[..7]);
        // Parallel over canvases, canvas i seeded by mix(seed, i).
        let canvases = vec![canvas.clone(), rectangles()];
        let par = propose_all(&canvases, &cfg, 9);
        assert_eq!(par[1], propose(&canvases[1], &cfg, mix(9, 1)));
    }

    #[test]
    fn covers_real_digit_canvases() {
        use crate::detection::canvas::{CanvasConfig, generate};
        let data = crate::data::load("mnist-10k", &crate::data::DataOptions::default()).unwrap();
        let canvases = generate(&data.test, &CanvasConfig::default(), 40, 3);
        let props = propose_all(&canvases, &SelectiveSearchConfig::default(), 3);
        let r = recall(&props, &canvases, 0.5);
        assert!(r >= 0.95, "recall {r}");
        let mean = props.iter().map(Vec::len).sum::<usize>() as f64 / 40.0;
        assert!(mean < 150.0, "{mean} proposals per canvas");
    }

    #[test]
    fn min_size_is_pixels_or_each_segmentations_k() {
        let read = |v: &str| toml::from_str::<SelectiveSearchConfig>(&format!("min_size = {v}"));
        assert_eq!(read("\"k\"").unwrap().min_size, MinSize::K);
        assert_eq!(read("20").unwrap().min_size, MinSize::Pixels(20));
        for bad in ["\"K\"", "\"20\"", "-1", "2.5", "true"] {
            let e = read(bad).unwrap_err().to_string();
            assert!(e.contains("min_size"), "{bad}: {e}");
        }
        // "k" follows each segmentation's scale, rounded to whole pixels.
        assert_eq!(MinSize::K.pixels(50.0), 50);
        assert_eq!(MinSize::K.pixels(99.6), 100);
        assert_eq!(MinSize::Pixels(7).pixels(300.0), 7);
        // With one k, "k" and that many pixels propose the same boxes; a toml round trip keeps it.
        let canvas = rectangles();
        let with = |min_size| SelectiveSearchConfig {
            ks: vec![60.0],
            min_size,
            ..SelectiveSearchConfig::default()
        };
        assert_eq!(
            propose(&canvas, &with(MinSize::K), 0),
            propose(&canvas, &with(MinSize::Pixels(60)), 0)
        );
        let text = toml::to_string(&with(MinSize::K)).unwrap();
        assert!(text.contains("min_size = \"k\""), "{text}");
        assert_eq!(
            toml::from_str::<SelectiveSearchConfig>(&text).unwrap(),
            with(MinSize::K)
        );
    }

    #[test]
    fn recall_counts_objects_covered_at_the_threshold() {
        let object = |x1: f32, y1: f32, x2: f32, y2: f32| Object {
            bbox: BBox::new(x1, y1, x2, y2),
            class: 0,
        };
        let canvas = |objects| Canvas {
            size: 10,
            pixels: vec![0.0; 100],
            objects,
        };
        let canvases = [
            canvas(vec![object(0.0, 0.0, 4.0, 4.0), object(5.0, 5.0, 9.0, 9.0)]),
            canvas(vec![object(0.0, 0.0, 2.0, 10.0)]),
            canvas(vec![]),
        ];
        let proposals = vec![
            // IoU 1 with the first object; 12/16 = 0.75 with the second.
            vec![BBox::new(0.0, 0.0, 4.0, 4.0), BBox::new(5.0, 5.0, 9.0, 8.0)],
            // IoU 10/20 = 0.5 exactly, counted at 0.5.
            vec![BBox::new(0.0, 0.0, 2.0, 5.0)],
            vec![BBox::new(0.0, 0.0, 10.0, 10.0)],
        ];
        assert_eq!(recall(&proposals, &canvases, 0.5), 1.0);
        assert!((recall(&proposals, &canvases, 0.7) - 2.0 / 3.0).abs() < 1e-12);
        assert!((recall(&proposals, &canvases, 0.8) - 1.0 / 3.0).abs() < 1e-12);
        assert!((mabo(&proposals, &canvases) - (1.0 + 0.75 + 0.5) / 3.0).abs() < 1e-6);
        assert_eq!(recall(&[vec![]], &canvases[2..], 0.5), 1.0);
        assert_eq!(recall(&[vec![]], &canvases[1..2], 0.5), 0.0);
    }
}
