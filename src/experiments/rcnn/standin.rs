//! TEMPORARY stand-ins for part A's canvas, selective search and drawing modules, with their
//! promised signatures, so the pipeline can be developed before they land. Removed at merge.

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
