//! TEMPORARY stand-ins for part A's canvas, selective search and drawing modules, with their
//! promised signatures, so the pipeline can be developed before they land. Removed at merge.

pub mod canvas {
    use crate::data::{Dataset, Split};
    use crate::detection::{BBox, Canvas, Object};
    use rand::{Rng, SeedableRng};
    use rand_pcg::Pcg64;
    use std::path::Path;

    #[derive(Clone, Debug, PartialEq)]
    pub struct CanvasConfig {
        pub size: usize,
        pub min_objects: usize,
        pub max_objects: usize,
        pub min_scale: usize,
        pub max_scale: usize,
        pub max_overlap: f32,
        pub ink_threshold: f32,
        pub clutter: usize,
        pub clutter_crop: usize,
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
                max_overlap: 0.2,
                ink_threshold: 0.1,
                clutter: 2,
                clutter_crop: 9,
                noise_std: 0.0,
            }
        }
    }
    fn build(split: &Split, cfg: &CanvasConfig, count: usize, seed: u64) -> Vec<Canvas> {
        let mut rng = Pcg64::seed_from_u64(seed);
        (0..count)
            .map(|_| {
                let n = cfg.size;
                let mut pixels = vec![0.0f32; n * n];
                let mut objects = Vec::new();
                let k = rng.random_range(cfg.min_objects..=cfg.max_objects);
                for _ in 0..k {
                    let s = rng.random_range(cfg.min_scale..=cfg.max_scale);
                    let (x0, y0) = (rng.random_range(0..=n - s), rng.random_range(0..=n - s));
                    let i = rng.random_range(0..split.n);
                    let img = split.image(i);
                    let (mut bx1, mut by1, mut bx2, mut by2) = (n, n, 0, 0);
                    for y in 0..s {
                        for x in 0..s {
                            let v = img[(y * 28 / s) * 28 + x * 28 / s];
                            let p = &mut pixels[(y0 + y) * n + x0 + x];
                            *p = p.max(v);
                            if v > 0.1 {
                                bx1 = bx1.min(x0 + x);
                                by1 = by1.min(y0 + y);
                                bx2 = bx2.max(x0 + x + 1);
                                by2 = by2.max(y0 + y + 1);
                            }
                        }
                    }
                    objects.push(Object {
                        bbox: BBox::new(bx1 as f32, by1 as f32, bx2 as f32, by2 as f32),
                        class: split.labels[i] as usize,
                    });
                }
                Canvas {
                    size: n,
                    pixels,
                    objects,
                }
            })
            .collect()
    }
    pub fn generate_splits(
        dataset: &Dataset,
        cfg: &CanvasConfig,
        train_count: usize,
        test_count: usize,
        seed: u64,
    ) -> (Vec<Canvas>, Vec<Canvas>) {
        (
            build(&dataset.train, cfg, train_count, seed),
            build(&dataset.test, cfg, test_count, seed + 1),
        )
    }
    pub fn write_dir(
        _dir: &Path,
        _canvases: &[Canvas],
        _class_names: Option<&[String]>,
    ) -> anyhow::Result<()> {
        Ok(())
    }
}

pub mod selective_search {
    use crate::detection::{BBox, Canvas};
    use rand::{Rng, SeedableRng};
    use rand_pcg::Pcg64;

    #[derive(Clone, Debug, PartialEq)]
    pub struct SelectiveSearchConfig {
        pub ks: Vec<f64>,
        pub sigma: f64,
        pub min_size: usize,
        pub max_proposals: usize,
        pub min_box_side: usize,
    }
    pub fn propose_all(
        canvases: &[Canvas],
        _cfg: &SelectiveSearchConfig,
        seed: u64,
    ) -> Vec<Vec<BBox>> {
        let mut rng = Pcg64::seed_from_u64(seed);
        canvases
            .iter()
            .map(|c| {
                let mut out = Vec::new();
                for o in &c.objects {
                    for _ in 0..8 {
                        let j = |v: f32, r: &mut Pcg64| v + r.random_range(-4.0..4.0);
                        let b = o.bbox;
                        out.push(BBox::new(
                            j(b.x1, &mut rng),
                            j(b.y1, &mut rng),
                            j(b.x2, &mut rng),
                            j(b.y2, &mut rng),
                        ));
                    }
                }
                for _ in 0..60 {
                    let x = rng.random_range(0.0..80.0);
                    let y = rng.random_range(0.0..80.0);
                    let w = rng.random_range(8.0..40.0);
                    let h = rng.random_range(8.0..40.0);
                    out.push(BBox::new(x, y, x + w, y + h));
                }
                out
            })
            .collect()
    }
    pub fn recall(proposals: &[Vec<BBox>], canvases: &[Canvas], iou: f32) -> f64 {
        let (mut hit, mut all) = (0, 0);
        for (p, c) in proposals.iter().zip(canvases) {
            for o in &c.objects {
                all += 1;
                if p.iter().any(|b| b.iou(&o.bbox) >= iou) {
                    hit += 1;
                }
            }
        }
        hit as f64 / all.max(1) as f64
    }
}

pub mod draw {
    use crate::detection::{BBox, Canvas};
    use std::path::Path;
    pub fn write_png(
        _path: &Path,
        _canvas: &Canvas,
        _detections: &[(BBox, usize, f32)],
        _class_names: Option<&[String]>,
    ) -> anyhow::Result<()> {
        Ok(())
    }
}
