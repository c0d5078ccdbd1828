//! Selective-search recall on detection canvases made from mnist-10k's test split.
//!
//! ```text
//! cargo run --release --example selective_search_recall -- [--count 200] [--seed 1]
//!     [--ks 50,100] [--channels intensity,sqrt] [--sims all,tsf] [--sigma 0.8]
//!     [--min-size 10|k] [--min-box-side 4] [--max-proposals 0] [--dataset mnist-10k]
//!     [--noise 0] [--clutter 2] [--max-overlap 0.1] [--write DIR]
//! ```
//!
//! Prints one JSON line: recall at IoU 0.5 and 0.7, MABO, proposals per canvas (mean, max),
//! and milliseconds per canvas on one thread, wall and CPU time (the pass of median CPU time
//! among three). `--write`
//! also writes the canvases (PNG + boxes.csv/json) and, for the first 8 and for the first 8
//! where an object has no proposal at IoU 0.5, a drawing of the ground truth with each
//! object's best proposal (`best_proposals_N.png`, `missed_proposals_N.png`).

use std::time::Instant;

use anyhow::{Context, Result, bail};
use runner::data::{DataOptions, load};
use runner::detection::canvas::{self, CanvasConfig};
use runner::detection::draw;
use runner::detection::selective_search::{
    Channel, MinSize, SelectiveSearchConfig, Similarities, mabo, propose, propose_all, recall,
};

/// CPU time of the calling thread.
fn thread_cpu_ms() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1e3 + ts.tv_nsec as f64 / 1e6
}

fn list<T>(v: &str, parse: impl Fn(&str) -> Result<T>) -> Result<Vec<T>> {
    v.split(',').map(|s| parse(s.trim())).collect()
}

fn main() -> Result<()> {
    let mut cfg = SelectiveSearchConfig::default();
    let mut canvas_cfg = CanvasConfig::default();
    let (mut count, mut seed, mut dataset, mut write) =
        (200usize, 1u64, "mnist-10k".to_string(), None);
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let [key, v] = pair else {
            bail!("{} needs a value", pair[0])
        };
        match key.as_str() {
            "--count" => count = v.parse()?,
            "--seed" => seed = v.parse()?,
            "--dataset" => dataset = v.clone(),
            "--write" => write = Some(std::path::PathBuf::from(v)),
            "--ks" => cfg.ks = list(v, |s| Ok(s.parse()?))?,
            "--sigma" => cfg.sigma = v.parse()?,
            "--min-size" => {
                cfg.min_size = match v.as_str() {
                    "k" => MinSize::K,
                    n => MinSize::Pixels(n.parse()?),
                }
            }
            "--min-box-side" => cfg.min_box_side = v.parse()?,
            "--max-proposals" => cfg.max_proposals = v.parse()?,
            "--noise" => canvas_cfg.noise_std = v.parse()?,
            "--clutter" => canvas_cfg.clutter = v.parse()?,
            "--max-overlap" => canvas_cfg.max_overlap = v.parse()?,
            "--channels" => {
                cfg.channels = list(v, |s| {
                    Ok(match s {
                        "intensity" => Channel::Intensity,
                        "sqrt" => Channel::Sqrt,
                        "blurred" => Channel::Blurred,
                        _ => bail!("unknown channel {s}"),
                    })
                })?
            }
            "--sims" => {
                cfg.similarities = list(v, |s| {
                    Ok(match s {
                        "all" => Similarities::ALL,
                        "tsf" => Similarities::TSF,
                        _ => bail!("unknown similarity set {s} (all, tsf)"),
                    })
                })?
            }
            _ => bail!("unknown option {key}"),
        }
    }
    cfg.validate()?;
    canvas_cfg.validate()?;
    let data = load(&dataset, &DataOptions::default())?;
    let canvases = canvas::generate(&data.test, &canvas_cfg, count, seed);
    let proposals = propose_all(&canvases, &cfg, seed);

    // (wall, CPU) ms per canvas of each pass; CPU time is steadier on a shared machine.
    let mut passes: Vec<(f64, f64)> = (0..3)
        .map(|_| {
            let (start, cpu) = (Instant::now(), thread_cpu_ms());
            for (i, c) in canvases.iter().enumerate() {
                std::hint::black_box(propose(c, &cfg, i as u64));
            }
            let wall = start.elapsed().as_secs_f64() * 1e3;
            (wall / count as f64, (thread_cpu_ms() - cpu) / count as f64)
        })
        .collect();
    passes.sort_by(|a, b| a.1.total_cmp(&b.1));
    let objects: usize = canvases.iter().map(|c| c.objects.len()).sum();
    let per_image: Vec<usize> = proposals.iter().map(Vec::len).collect();
    println!(
        "{}",
        serde_json::json!({
            "dataset": dataset,
            "canvases": count,
            "objects": objects,
            "recall_iou_0.5": recall(&proposals, &canvases, 0.5),
            "recall_iou_0.7": recall(&proposals, &canvases, 0.7),
            "mabo": mabo(&proposals, &canvases),
            "proposals_mean": per_image.iter().sum::<usize>() as f64 / count as f64,
            "proposals_max": per_image.iter().max(),
            "ms_per_canvas_1_thread": passes[1].0,
            "cpu_ms_per_canvas": passes[1].1,
            "config": format!("{cfg:?}"),
        })
    );
    if let Some(dir) = write {
        canvas::write_dir(&dir, &canvases, None)?;
        // The first 8 canvases, then the first 8 with an object missed at IoU 0.5.
        let missed = |c: &runner::detection::Canvas, props: &Vec<_>| {
            c.objects.iter().any(|o| {
                props
                    .iter()
                    .all(|p: &runner::detection::BBox| p.iou(&o.bbox) < 0.5)
            })
        };
        let firsts = canvases.iter().zip(&proposals).enumerate().take(8);
        let misses = canvases
            .iter()
            .zip(&proposals)
            .enumerate()
            .filter(|(_, (c, p))| missed(c, p))
            .take(8);
        for (i, (c, props)) in firsts.chain(misses) {
            let best: Vec<_> = c
                .objects
                .iter()
                .map(|o| {
                    let p = props
                        .iter()
                        .copied()
                        .max_by(|a, b| a.iou(&o.bbox).total_cmp(&b.iou(&o.bbox)))
                        .unwrap_or(o.bbox);
                    (p, o.class, p.iou(&o.bbox))
                })
                .collect();
            let kind = if missed(c, props) { "missed" } else { "best" };
            let path = dir.join(format!("{kind}_proposals_{i:05}.png"));
            draw::write_png(&path, c, &best, None).with_context(|| format!("drawing {i}"))?;
        }
    }
    Ok(())
}
