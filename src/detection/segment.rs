//! Felzenszwalb & Huttenlocher (2004), "Efficient graph-based image segmentation": the initial
//! regions of selective search.
//!
//! The image is smoothed by a Gaussian (`sigma`), becomes an 8-connected grid graph whose edge
//! weights are absolute intensity differences, and the edges are visited by increasing weight:
//! two components `C1, C2` merge across an edge of weight `w` when
//! `w <= min(Int(C1) + k/|C1|, Int(C2) + k/|C2|)`, `Int` being the largest weight inside a
//! component (the weight of its last merge). Components smaller than `min_size` are then
//! merged into a neighbour, again in edge order.
//!
//! Intensities here are in `[0, 1]`, but the paper's `k` values (and those of selective
//! search: 50 to 300) are for 0-255 intensities; pixels are therefore scaled by 255 before
//! the graph is built, so `k` means what it means in the papers.

/// An 8-connected grid graph of a smoothed image, edges sorted by weight; segmenting it for
/// several `k` reuses the sort.
pub struct GridGraph {
    width: usize,
    height: usize,
    /// `(weight, pixel a, pixel b)`, sorted by weight, ties in construction order.
    edges: Vec<(f32, u32, u32)>,
}

impl GridGraph {
    /// The graph of `pixels` (`height` rows of `width`, values in `[0, 1]`) smoothed by a
    /// Gaussian of standard deviation `sigma` (0 = no smoothing).
    pub fn new(pixels: &[f32], width: usize, height: usize, sigma: f32) -> Self {
        assert_eq!(pixels.len(), width * height, "pixel count");
        let scaled: Vec<f32> = pixels.iter().map(|v| v * 255.0).collect();
        let img = gaussian_blur(&scaled, width, height, sigma);
        let mut edges = Vec::with_capacity(4 * width * height);
        for_each_neighbour(width, height, |p, q| {
            edges.push(((img[p] - img[q]).abs(), p as u32, q as u32));
        });
        Self {
            width,
            height,
            edges: sort_by_weight(edges),
        }
    }

    /// Region label per pixel (row-major), labels `0..n` numbered in raster order of first
    /// appearance, and `n`.
    pub fn segment(&self, k: f32, min_size: usize) -> (Vec<u32>, usize) {
        let n = self.width * self.height;
        let mut sets = DisjointSets::new(n);
        let mut threshold = vec![k; n];
        for &(w, a, b) in &self.edges {
            let (ra, rb) = (sets.find(a as usize), sets.find(b as usize));
            if ra != rb && w <= threshold[ra] && w <= threshold[rb] {
                let root = sets.union(ra, rb);
                threshold[root] = w + k / sets.size[root] as f32;
            }
        }
        for &(_, a, b) in &self.edges {
            let (ra, rb) = (sets.find(a as usize), sets.find(b as usize));
            if ra != rb && (sets.size[ra] < min_size || sets.size[rb] < min_size) {
                sets.union(ra, rb);
            }
        }
        let mut label_of_root = vec![u32::MAX; n];
        let mut next = 0u32;
        let labels = (0..n)
            .map(|p| {
                let root = sets.find(p);
                if label_of_root[root] == u32::MAX {
                    label_of_root[root] = next;
                    next += 1;
                }
                label_of_root[root]
            })
            .collect();
        (labels, next as usize)
    }
}

/// Calls `f(p, q)` once for every pair of 8-connected pixels (row-major indices), in raster
/// order of `p`: right, down, down-right, down-left.
pub fn for_each_neighbour(width: usize, height: usize, mut f: impl FnMut(usize, usize)) {
    for y in 0..height {
        for x in 0..width {
            let p = y * width + x;
            if x + 1 < width {
                f(p, p + 1);
            }
            if y + 1 < height {
                f(p, p + width);
                if x + 1 < width {
                    f(p, p + width + 1);
                }
                if x > 0 {
                    f(p, p + width - 1);
                }
            }
        }
    }
}

/// Region label per pixel (labels `0..n`, contiguous, in raster order of first appearance)
/// of `pixels` (`height` rows of `width`, values in `[0, 1]`): smoothing `sigma`, scale `k`
/// on the 0-255 intensity scale, components below `min_size` pixels merged away.
pub fn felzenszwalb(
    pixels: &[f32],
    width: usize,
    height: usize,
    sigma: f32,
    k: f32,
    min_size: usize,
) -> Vec<u32> {
    GridGraph::new(pixels, width, height, sigma)
        .segment(k, min_size)
        .0
}

/// Separable Gaussian smoothing with edge replication; the kernel reaches `ceil(4 sigma)`
/// pixels each way, as in the authors' code.
pub fn gaussian_blur(img: &[f32], width: usize, height: usize, sigma: f32) -> Vec<f32> {
    if sigma <= 0.0 {
        return img.to_vec();
    }
    let radius = (4.0 * sigma).ceil() as usize;
    let mut kernel: Vec<f32> = (0..=2 * radius)
        .map(|i| (-0.5 * ((i as f32 - radius as f32) / sigma).powi(2)).exp())
        .collect();
    let total: f32 = kernel.iter().sum();
    kernel.iter_mut().for_each(|v| *v /= total);
    // Rows: each row padded by replication, so the inner loop has no bounds to clamp.
    let mut rows = vec![0.0; img.len()];
    let mut padded = vec![0.0; width + 2 * radius];
    for (src, dst) in img.chunks(width).zip(rows.chunks_mut(width)) {
        padded[..radius].fill(src[0]);
        padded[radius..radius + width].copy_from_slice(src);
        padded[radius + width..].fill(src[width - 1]);
        for (x, d) in dst.iter_mut().enumerate() {
            *d = kernel.iter().zip(&padded[x..]).map(|(k, v)| k * v).sum();
        }
    }
    // Columns: whole rows scaled and added, the source row index clamped.
    let mut out = vec![0.0; img.len()];
    for (y, dst) in out.chunks_mut(width).enumerate() {
        for (j, k) in kernel.iter().enumerate() {
            let sy = (y + j).saturating_sub(radius).min(height - 1);
            for (d, v) in dst.iter_mut().zip(&rows[sy * width..][..width]) {
                *d += k * v;
            }
        }
    }
    out
}

/// A stable LSD radix sort by weight; the weights are non-negative floats, whose bit
/// patterns sort as the numbers do. (Several times faster than a comparison sort here.)
fn sort_by_weight(mut edges: Vec<(f32, u32, u32)>) -> Vec<(f32, u32, u32)> {
    let mut spare = vec![(0.0, 0, 0); edges.len()];
    for shift in [0u32, 8, 16, 24] {
        let byte = |e: &(f32, u32, u32)| ((e.0.to_bits() >> shift) & 0xff) as usize;
        let mut start = [0usize; 257];
        for e in &edges {
            start[byte(e) + 1] += 1;
        }
        for i in 1..257 {
            start[i] += start[i - 1];
        }
        for e in &edges {
            let b = byte(e);
            spare[start[b]] = *e;
            start[b] += 1;
        }
        std::mem::swap(&mut edges, &mut spare);
    }
    edges
}

/// Union-find with union by size and path halving.
struct DisjointSets {
    parent: Vec<usize>,
    size: Vec<usize>,
}

impl DisjointSets {
    fn new(n: usize) -> Self {
        Self {
            parent: (0..n).collect(),
            size: vec![1; n],
        }
    }

    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    /// Joins two roots; returns the new root.
    fn union(&mut self, a: usize, b: usize) -> usize {
        let (big, small) = if self.size[a] >= self.size[b] {
            (a, b)
        } else {
            (b, a)
        };
        self.parent[small] = big;
        self.size[big] += self.size[small];
        big
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// Three rectangles of distinct intensities on a background, plus N(0, 0.02^2) noise;
    /// returns the image and the true region of every pixel.
    fn rectangles() -> (Vec<f32>, Vec<usize>, usize, usize) {
        let (w, h) = (64, 48);
        let rects = [
            (5, 5, 25, 20, 0.5),
            (30, 10, 60, 40, 0.9),
            (8, 28, 20, 44, 0.3),
        ];
        let mut rng = rand_pcg::Pcg64::seed_from_u64(11);
        let mut img = vec![0.1f32; w * h];
        let mut truth = vec![0usize; w * h];
        for (r, &(x1, y1, x2, y2, v)) in rects.iter().enumerate() {
            for y in y1..y2 {
                for x in x1..x2 {
                    img[y * w + x] = v;
                    truth[y * w + x] = r + 1;
                }
            }
        }
        for v in &mut img {
            *v += 0.02 * crate::util::rng::standard_normal(&mut rng) as f32;
        }
        (img, truth, w, h)
    }

    /// Asserts that the pixels of each true region kept by `keep` carry one label, a
    /// different one per region.
    fn one_label_per_region(labels: &[u32], truth: &[usize], keep: impl Fn(usize) -> bool) {
        let mut seen = [None; 4];
        for (p, (t, l)) in truth
            .iter()
            .zip(labels)
            .enumerate()
            .filter(|(p, _)| keep(*p))
        {
            match seen[*t] {
                None => seen[*t] = Some(*l),
                Some(prev) => assert_eq!(prev, *l, "region {t} split at pixel {p}"),
            }
        }
        let distinct: std::collections::BTreeSet<_> = seen.iter().flatten().collect();
        assert_eq!(distinct.len(), 4, "{seen:?}");
    }

    #[test]
    fn each_true_region_becomes_one_segment() {
        let (img, truth, w, h) = rectangles();
        // Unsmoothed, the segments are exactly the regions despite the noise.
        let labels = felzenszwalb(&img, w, h, 0.0, 300.0, 20);
        assert_eq!(
            *labels.iter().max().unwrap(),
            3,
            "background and three rectangles"
        );
        one_label_per_region(&labels, &truth, |_| true);
        // Smoothed, each step edge becomes a ramp whose middle pixels form thin rings of their
        // own, as in the authors' code; every region's interior is still one segment.
        let labels = felzenszwalb(&img, w, h, 0.8, 300.0, 20);
        let interior = |p: usize| {
            let (x, y) = ((p % w) as i64, (p / w) as i64);
            (-2..=2).all(|dy| {
                (-2..=2).all(|dx| {
                    let (qx, qy) = (
                        (x + dx).clamp(0, w as i64 - 1),
                        (y + dy).clamp(0, h as i64 - 1),
                    );
                    truth[qy as usize * w + qx as usize] == truth[p]
                })
            })
        };
        one_label_per_region(&labels, &truth, interior);
    }

    #[test]
    fn labels_are_contiguous_in_raster_order() {
        let (img, _, w, h) = rectangles();
        let labels = felzenszwalb(&img, w, h, 0.8, 300.0, 20);
        let mut next = 0;
        for &l in &labels {
            assert!(l <= next);
            if l == next {
                next += 1;
            }
        }
    }

    #[test]
    fn k_controls_the_granularity_and_min_size_removes_small_segments() {
        let (img, _, w, h) = rectangles();
        let graph = GridGraph::new(&img, w, h, 0.8);
        // Without a minimum size a tiny k leaves many noise specks; a huge one merges
        // everything.
        assert!(graph.segment(1.0, 1).1 > 50);
        assert_eq!(graph.segment(1e6, 1).1, 1);
        let (labels, n) = graph.segment(1.0, 40);
        let mut sizes = vec![0; n];
        labels.iter().for_each(|&l| sizes[l as usize] += 1);
        assert!(sizes.iter().all(|&s| s >= 40), "{sizes:?}");
    }

    #[test]
    fn radix_sort_matches_a_stable_sort() {
        let mut rng = rand_pcg::Pcg64::seed_from_u64(2);
        let edges: Vec<(f32, u32, u32)> = (0..5000)
            .map(|i| {
                // Many ties (small integers) and some wide values.
                let w = if i % 3 == 0 {
                    rand::Rng::random_range(&mut rng, 0..4) as f32
                } else {
                    rand::Rng::random::<f32>(&mut rng) * 300.0
                };
                (w, i, i + 1)
            })
            .collect();
        let mut expected = edges.clone();
        expected.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert_eq!(sort_by_weight(edges), expected);
    }

    #[test]
    fn blur_keeps_constants_and_spreads_a_point() {
        let flat = vec![0.7; 30];
        for v in gaussian_blur(&flat, 6, 5, 1.0) {
            assert!((v - 0.7).abs() < 1e-5);
        }
        let mut point = vec![0.0; 81];
        point[40] = 1.0;
        let b = gaussian_blur(&point, 9, 9, 1.0);
        assert!((b.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        assert!(b[40] > b[41] && b[41] > b[42] && (b[41] - b[39]).abs() < 1e-6);
    }
}
