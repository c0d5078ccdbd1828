//! R-CNN (Girshick et al. 2014) on canvases of real digits: selective-search proposals,
//! context-padded warps, a CNN pre-trained on whole digits and optionally fine-tuned on warped
//! proposals, per-class linear SVMs with hard-negative mining on pool5/fc6/fc7 features,
//! greedy NMS, optional box regression, and VOC07 AP (Table 2's rows are variants).
//!
//! Per variant, `ctx.dir` receives `ap.csv` (AP per class), `detections.csv` and a few PNGs of
//! test canvases with their detections; what variants share (proposals, the two CNNs, the
//! canvases written as a dataset) lives in `<run dir>/cache/` (see [`cache`]).

mod cache;
mod cnn;
pub mod config;
mod detect;

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use self::cache::Stage;
use self::cnn::{Finetune, Region};
use self::config::RcnnSpec;
use self::detect::{RegionSet, best_truth};
use super::{Context, KindDef, KindResult};
use crate::config::{DataSpec, ExperimentSpec, KindSchema, Schedule, SectionDef, Uses};
use crate::data::Dataset;
use crate::detection::ap;
use crate::detection::canvas;
use crate::detection::draw;
use crate::detection::nms::Detection;
use crate::detection::selective_search;
use crate::detection::svm::{self, Rows};
use crate::detection::{BBox, Canvas};
use crate::models::rcnn_net::{Layer, RcnnArch};
use crate::util::fs::write_atomic;
use crate::util::table::{Column, Show};

/// Labelled test regions the fine-tuning loop evaluates on, at most.
const FINETUNE_EVAL_REGIONS: usize = 2000;

pub static KIND: KindDef = KindDef {
    schema: KindSchema {
        name: "rcnn",
        section: Some(SectionDef::of::<RcnnSpec>("rcnn")),
        uses: Uses::NONE,
        check: config::check,
        memory,
    },
    paper: "Girshick et al. 2014, R-CNN",
    run,
    columns: &[
        // VOC mAP in points, as the paper prints it.
        Column::new("map", Show::Points(1)),
        Column::new("recall_05", Show::Fixed(3)),
        Column::new("proposals_per_image", Show::Fixed(0)),
    ],
    inspect: None,
    extra_datasets,
};

/// The pre-training's dataset when it is not the canvases'.
fn extra_datasets(spec: &ExperimentSpec) -> Vec<DataSpec> {
    match settings(spec) {
        Ok(r) if !r.pretrain_dataset.is_empty() => vec![r.pretrain_data(&spec.data)],
        _ => Vec::new(),
    }
}

/// The `[rcnn]` section of an `rcnn` spec (filled in by loading).
pub fn settings(spec: &ExperimentSpec) -> anyhow::Result<RcnnSpec> {
    spec.section()
}

/// Proposals per canvas and selective-search strategy, per object or clutter fragment (and
/// one for the background): rcnn.toml measured 87 training and 91 test proposals per canvas
/// with 8 strategies and up to 4 objects and 2 fragments (docs/results/rcnn.md), 1.6 per
/// strategy and thing; 2 is a little above.
const PROPOSALS_PER_STRATEGY_AND_OBJECT: f64 = 2.0;
/// Bytes per canvas pixel that selective search holds while it works on a canvas (the
/// smoothed channel, gradients, the grid graph's edges, segment labels).
const SELECTIVE_SEARCH_BYTES_PER_PIXEL: f64 = 128.0;

/// The canvases (and selective search's working set on each thread), the CNN trained at the
/// larger of its two batch sizes, the region features extracted at all three layers and their
/// scaled copies for the SVMs and box regressors, and the digits.
fn memory(spec: &ExperimentSpec) -> Option<crate::config::memory::Estimate> {
    use crate::config::memory;
    let r = settings(spec).ok()?;
    let defaults = RcnnSpec::default();
    let classes = crate::data::registry::spec(&spec.data.dataset)
        .ok()?
        .num_classes;
    let canvases = r.train_canvases as f64 + r.test_canvases as f64;
    let pixels = (r.canvas.size as f64).powi(2);
    let many = if r.train_canvases >= r.test_canvases {
        "rcnn.train_canvases"
    } else {
        "rcnn.test_canvases"
    };
    let canvas_key = if r.canvas.size > defaults.canvas.size {
        "rcnn.canvas.size"
    } else {
        many
    };
    let canvas_bytes = pixels
        * (4.0 * canvases + SELECTIVE_SEARCH_BYTES_PER_PIXEL * rayon::current_num_threads() as f64);

    let ss = &r.selective_search;
    let strategies = (ss.channels.len() * ss.ks.len() * ss.similarities.len()) as f64;
    let things = r.canvas.max_objects as f64 + r.canvas.clutter as f64 + 1.0;
    // Hierarchical grouping forms 2n - 1 boxes from n segments of at least min_size pixels
    // (the smallest over the ks when min_size follows k).
    let smallest = ss
        .ks
        .iter()
        .map(|&k| ss.min_size.pixels(k))
        .min()
        .unwrap_or(1);
    let most = strategies * 2.0 * pixels / smallest.max(1) as f64;
    let mut per_canvas = (PROPOSALS_PER_STRATEGY_AND_OBJECT * strategies * things).min(most);
    if ss.max_proposals > 0 {
        per_canvas = per_canvas.min(ss.max_proposals as f64);
    }
    // Training canvases add their ground-truth boxes.
    let regions = canvases * per_canvas + r.train_canvases as f64 * r.canvas.max_objects as f64;

    let arch = RcnnArch {
        input: r.warp_size,
        conv_channels: r.conv_channels,
        fc_units: r.fc_units,
        dropout: r.dropout,
        classes: classes + 1,
    };
    let sizes = arch.sizes();
    let pool5 = arch.dim(Layer::Pool5) as f64;
    let fc = r.fc_units as f64;
    let kept = arch.dim(r.feature) as f64 + if r.bbox_regression { pool5 } else { 0.0 };
    let feature_bytes = 4.0 * regions * (pool5 + 2.0 * fc + kept);
    let batch = spec.train.batch_size.max(r.finetune_batch).max(cnn::CHUNK) as f64;
    let warp_key = |otherwise| {
        if r.warp_size > defaults.warp_size {
            "rcnn.warp_size"
        } else {
            otherwise
        }
    };
    let params_key = warp_key(if r.fc_units > defaults.fc_units {
        "rcnn.fc_units"
    } else {
        "rcnn.conv_channels"
    });
    let batch_key = warp_key(if r.finetune_batch > spec.train.batch_size {
        "rcnn.finetune_batch"
    } else {
        "train.batch_size"
    });
    let mut est = memory::of_parts(&[
        (canvas_bytes, canvas_key),
        (feature_bytes, many),
        (memory::training_bytes(sizes.params, 0.0), params_key),
        (
            memory::training_bytes(0.0, sizes.activations * batch),
            batch_key,
        ),
    ]);
    est.bytes += memory::data_bytes(spec);
    Some(est)
}

/// Proposals of both canvas sets, as cached.
#[derive(Serialize, Deserialize)]
struct Proposals {
    train: Vec<Vec<BBox>>,
    test: Vec<Vec<BBox>>,
    seconds: f64,
}

pub fn run(spec: &ExperimentSpec, ctx: &mut Context) -> anyhow::Result<KindResult> {
    let started = Instant::now();
    let r = &settings(spec)?;
    let run_dir = ctx
        .dir
        .parent()
        .ok_or_else(|| anyhow::anyhow!("a variant directory without a run directory"))?
        .to_path_buf();
    let data = ctx.dataset(&spec.data)?;
    let classes = data.num_classes;
    let class_names: Vec<String> = (0..classes).map(|c| c.to_string()).collect();

    let (train_canvases, test_canvases, canvas_digest) =
        canvases(spec, r, &data, &run_dir, &class_names)?;
    let (proposals, proposal_digest) = proposals(
        spec,
        r,
        &run_dir,
        &canvas_digest,
        &train_canvases,
        &test_canvases,
    )?;
    let recall_05 = selective_search::recall(&proposals.test, &test_canvases, 0.5);
    let recall_07 = selective_search::recall(&proposals.test, &test_canvases, 0.7);
    let per_image = proposals.test.iter().map(Vec::len).sum::<usize>() as f64
        / test_canvases.len().max(1) as f64;

    // The CNN: pre-trained on whole digits, then (optionally) fine-tuned on warped regions.
    let arch = RcnnArch {
        input: r.warp_size,
        conv_channels: r.conv_channels,
        fc_units: r.fc_units,
        dropout: r.dropout,
        classes,
    };
    let (trained, pretrain_accuracy, finetune_accuracy) = train_cnn(
        spec,
        ctx,
        r,
        &run_dir,
        &arch,
        [&train_canvases, &test_canvases],
        &proposals,
        &proposal_digest,
    )?;
    // Features of every training proposal and ground-truth box, and of every test proposal,
    // at all three layers in one pass (variants sharing the network reuse them).
    let t_features = Instant::now();
    let device = ctx.device.clone().inner();
    let train_set = RegionSet::new(&train_canvases, &proposals.train, true);
    let test_set = RegionSet::new(&test_canvases, &proposals.test, false);
    let key = format!(
        "net={} proposals={} warp={} pad={}",
        trained.digest, proposal_digest, r.warp_size, r.context_padding
    );
    let extracted = cnn::extracted(&key, || {
        let extract = |canvases: &[Canvas], set: &RegionSet| {
            cnn::extract(
                &trained.net,
                canvases,
                &set.rows,
                &Layer::ALL,
                r.warp_size,
                r.context_padding,
                &device,
            )
        };
        Ok(cnn::Extracted {
            train: extract(&train_canvases, &train_set)?,
            test: extract(&test_canvases, &test_set)?,
        })
    })?;
    // One scale per layer from the training features (mean norm 20, as R-CNN), for both sets.
    let scaled = |layer: Layer| {
        let (train, test) = (
            &extracted.train[layer.index()],
            &extracted.test[layer.index()],
        );
        let s = svm::norm_scale(Rows::new(train, arch.dim(layer)));
        let scale = |v: &Vec<f32>| v.iter().map(|x| x * s).collect::<Vec<f32>>();
        (scale(train), scale(test))
    };
    let (train_features, test_features) = scaled(r.feature);
    let pool5 = r.bbox_regression.then(|| scaled(Layer::Pool5));
    drop(extracted);
    let features_seconds = t_features.elapsed().as_secs_f64();

    let t_svm = Instant::now();
    let dim = arch.dim(r.feature);
    let mining = r.mining_config();
    let (svms, mean_negatives) = detect::train_svms(
        Rows::new(&train_features, dim),
        &train_set,
        &train_canvases,
        classes,
        r.negative_iou,
        &mining,
        spec.seed,
    );
    let pool5_dim = arch.dim(Layer::Pool5);
    let regressors = match &pool5 {
        Some((train_pool5, _)) => detect::train_regressors(
            Rows::new(train_pool5, pool5_dim),
            &train_set,
            &train_canvases,
            classes,
            r.bbox_min_iou,
            r.bbox_lambda,
        ),
        None => Vec::new(),
    };
    let svm_seconds = t_svm.elapsed().as_secs_f64();

    let detections = detect::detect(
        Rows::new(&test_features, dim),
        pool5
            .as_ref()
            .map(|(_, test_pool5)| Rows::new(test_pool5, pool5_dim)),
        &test_set,
        &svms,
        &regressors,
        r.nms_threshold,
    );
    let aps = detect::average_precisions(&detections, &test_canvases, classes);
    let map = ap::mean_ap(&aps);

    write_outputs(&ctx.dir, r, &aps, &detections, &test_canvases, &class_names)?;
    let extra = vec![
        ("map".to_string(), map),
        ("recall_05".to_string(), Some(recall_05)),
        ("recall_07".to_string(), Some(recall_07)),
        ("proposals_per_image".to_string(), Some(per_image)),
        ("pretrain_test_accuracy".to_string(), pretrain_accuracy),
        ("finetune_test_accuracy".to_string(), finetune_accuracy),
        ("feature_dim".to_string(), Some(dim as f64)),
        ("svm_negatives".to_string(), Some(mean_negatives.round())),
        (
            "detections_per_image".to_string(),
            Some(detections.len() as f64 / test_canvases.len().max(1) as f64),
        ),
        ("proposal_seconds".to_string(), Some(proposals.seconds)),
        ("feature_seconds".to_string(), Some(features_seconds)),
        ("svm_seconds".to_string(), Some(svm_seconds)),
        (
            "variant_seconds".to_string(),
            Some(started.elapsed().as_secs_f64()),
        ),
    ];
    Ok(KindResult {
        outcome: trained.outcome,
        extra,
    })
}

/// The canvases of both sets: cheap and deterministic, so rebuilt per variant; written once
/// under the run's cache as a dataset. Returns them with their stage's digest.
fn canvases(
    spec: &ExperimentSpec,
    r: &RcnnSpec,
    data: &Dataset,
    run_dir: &Path,
    class_names: &[String],
) -> anyhow::Result<(Vec<Canvas>, Vec<Canvas>, String)> {
    let ccfg = &r.canvas;
    let (train_canvases, test_canvases) =
        canvas::generate_splits(data, ccfg, r.train_canvases, r.test_canvases, spec.seed);
    let canvas_stage = Stage::new(
        run_dir,
        "canvases",
        &format!(
            "canvases v1 {} {:?} {:?} {} {} seed={}",
            data.name, spec.data, ccfg, r.train_canvases, r.test_canvases, spec.seed
        ),
    )?;
    if canvas_stage.done::<serde_json::Value>()?.is_none() {
        canvas::write_dir(
            &canvas_stage.dir.join("train"),
            &train_canvases,
            Some(class_names),
        )?;
        canvas::write_dir(
            &canvas_stage.dir.join("test"),
            &test_canvases,
            Some(class_names),
        )?;
        canvas_stage.finish(&serde_json::json!({
            "train": train_canvases.len(),
            "test": test_canvases.len()
        }))?;
    }

    Ok((train_canvases, test_canvases, canvas_stage.digest))
}

/// Selective-search proposals of both sets: the slow part of the data, so cached.
fn proposals(
    spec: &ExperimentSpec,
    r: &RcnnSpec,
    run_dir: &Path,
    canvas_digest: &str,
    train_canvases: &[Canvas],
    test_canvases: &[Canvas],
) -> anyhow::Result<(Proposals, String)> {
    let scfg = &r.selective_search;
    let proposal_stage = Stage::new(
        run_dir,
        "proposals",
        &format!(
            "proposals v1 {} {:?} seed={}",
            canvas_digest, scfg, spec.seed
        ),
    )?;
    let proposals = match proposal_stage.done::<Proposals>()? {
        Some(p) => p,
        None => {
            let t = Instant::now();
            let train = selective_search::propose_all(train_canvases, scfg, spec.seed);
            let test = selective_search::propose_all(test_canvases, scfg, spec.seed);
            let p = Proposals {
                train,
                test,
                seconds: t.elapsed().as_secs_f64(),
            };
            proposal_stage.finish(&p)?;
            p
        }
    };
    Ok((proposals, proposal_stage.digest))
}

/// The CNN pre-trained on whole digits and, with `finetune`, fine-tuned on warped proposals;
/// with the test accuracy of each stage.
#[allow(clippy::too_many_arguments)]
fn train_cnn(
    spec: &ExperimentSpec,
    ctx: &mut Context,
    r: &RcnnSpec,
    run_dir: &Path,
    arch: &RcnnArch,
    canvases: [&[Canvas]; 2],
    proposals: &Proposals,
    proposal_digest: &str,
) -> anyhow::Result<(cnn::Trained, Option<f64>, Option<f64>)> {
    let pretrain_data = r.pretrain_data(&spec.data);
    let pretrained = cnn::pretrain(spec, ctx, run_dir, arch, &pretrain_data, r.pretrain_shift)?;
    let pretrain_accuracy = pretrained.outcome.history.last().map(|h| h.test_accuracy);
    let [train_canvases, test_canvases] = canvases;
    let classes = arch.classes;
    let (trained, finetune_accuracy) = if r.finetune {
        let mut ft_spec = spec.clone();
        ft_spec.train.steps = r.finetune_steps;
        ft_spec.train.lr = r.finetune_lr;
        ft_spec.train.batch_size = r.finetune_batch;
        ft_spec.train.schedule = Schedule::Constant;
        let ft = Finetune {
            train_canvases,
            test_canvases,
            train_regions: labelled(
                train_canvases,
                &proposals.train,
                r.positive_iou,
                true,
                classes,
            ),
            test_regions: eval_sample(
                labelled(
                    test_canvases,
                    &proposals.test,
                    r.positive_iou,
                    false,
                    classes,
                ),
                classes,
            ),
            classes: classes + 1,
            warp: r.warp_size,
            padding: r.context_padding,
            positives_per_batch: (r.finetune_batch as f64 * r.positive_fraction).round() as usize,
            key: format!(
                "proposals={} positive_iou={}",
                proposal_digest, r.positive_iou
            ),
        };
        let tuned = cnn::finetune(&ft_spec, ctx, run_dir, arch, &pretrained, ft)?;
        let acc = tuned.outcome.history.last().map(|h| h.test_accuracy);
        (tuned, acc)
    } else {
        (pretrained, None)
    };
    Ok((trained, pretrain_accuracy, finetune_accuracy))
}

/// `ap.csv`, `detections.csv` and the first `draw` test canvases with their detections.
fn write_outputs(
    dir: &Path,
    r: &RcnnSpec,
    aps: &[Option<f64>],
    detections: &[Detection],
    test_canvases: &[Canvas],
    class_names: &[String],
) -> anyhow::Result<()> {
    write_ap_csv(&dir.join("ap.csv"), aps, test_canvases)?;
    write_detections_csv(&dir.join("detections.csv"), detections)?;
    for (i, canvas) in test_canvases.iter().enumerate().take(r.draw) {
        let shown: Vec<(BBox, usize, f32)> = detections
            .iter()
            .filter(|d| d.image == i && d.score >= r.draw_min_score)
            .map(|d| (d.bbox, d.class, d.score))
            .collect();
        draw::write_png(
            &dir.join(format!("detections_{i:03}.png")),
            canvas,
            &shown,
            Some(class_names),
        )?;
    }

    Ok(())
}

/// Every proposal (and with `with_truth`, every ground-truth box) of `canvases`, labelled with
/// the class of the ground truth it overlaps most when that IoU reaches `positive_iou`, else
/// `background` (the N+1-th class).
fn labelled(
    canvases: &[Canvas],
    proposals: &[Vec<BBox>],
    positive_iou: f32,
    with_truth: bool,
    background: usize,
) -> Vec<Region> {
    let mut out = Vec::new();
    for (c, (canvas, boxes)) in canvases.iter().zip(proposals).enumerate() {
        let truth = canvas.objects.iter().map(|o| o.bbox);
        let all: Vec<BBox> = if with_truth {
            boxes.iter().copied().chain(truth).collect()
        } else {
            boxes.clone()
        };
        for b in all {
            let label = match best_truth(&b, canvas) {
                Some((iou, g)) if iou >= positive_iou => canvas.objects[g].class,
                _ => background,
            };
            out.push(Region {
                canvas: c,
                bbox: b,
                label,
            });
        }
    }
    out
}

/// A fixed subset of labelled test regions for the fine-tuning loop's evaluation: every
/// positive, then background regions evenly spaced through the rest, up to
/// [`FINETUNE_EVAL_REGIONS`] in all.
fn eval_sample(regions: Vec<Region>, background: usize) -> Vec<Region> {
    let (pos, neg): (Vec<Region>, Vec<Region>) =
        regions.into_iter().partition(|r| r.label != background);
    let mut out: Vec<Region> = pos.into_iter().take(FINETUNE_EVAL_REGIONS / 2).collect();
    let room = FINETUNE_EVAL_REGIONS - out.len();
    let step = neg.len().div_ceil(room.max(1)).max(1);
    out.extend(neg.into_iter().step_by(step));
    out
}

fn write_ap_csv(path: &Path, aps: &[Option<f64>], canvases: &[Canvas]) -> anyhow::Result<()> {
    let mut out = String::from("class,ap,objects\n");
    for (class, a) in aps.iter().enumerate() {
        let objects: usize = canvases
            .iter()
            .map(|c| c.objects.iter().filter(|o| o.class == class).count())
            .sum();
        let a = a.map(|v| v.to_string()).unwrap_or_default();
        out += &format!("{class},{a},{objects}\n");
    }
    write_atomic(path, out.as_bytes())
}

/// Detections after NMS that score above the SVM margin (-1); AP is computed on all of them.
fn write_detections_csv(path: &Path, detections: &[Detection]) -> anyhow::Result<()> {
    let mut out = Vec::new();
    writeln!(out, "canvas,class,score,x1,y1,x2,y2")?;
    for d in detections.iter().filter(|d| d.score > svm::HARD_THRESHOLD) {
        let b = d.bbox;
        writeln!(
            out,
            "{},{},{},{},{},{},{}",
            d.image, d.class, d.score, b.x1, b.y1, b.x2, b.y2
        )?;
    }
    write_atomic(path, &out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detection::Object;

    fn canvas() -> Canvas {
        Canvas {
            size: 32,
            pixels: vec![0.0; 32 * 32],
            objects: vec![
                Object {
                    bbox: BBox::new(0.0, 0.0, 10.0, 10.0),
                    class: 3,
                },
                Object {
                    bbox: BBox::new(20.0, 20.0, 30.0, 30.0),
                    class: 7,
                },
            ],
        }
    }

    #[test]
    fn regions_take_the_class_of_the_ground_truth_they_overlap_enough() {
        let proposals = vec![vec![
            BBox::new(0.0, 0.0, 10.0, 12.0),   // IoU 100/120 with the 3
            BBox::new(5.0, 0.0, 15.0, 10.0),   // IoU 1/3: background
            BBox::new(21.0, 21.0, 30.0, 30.0), // IoU 0.81 with the 7
        ]];
        let regions = labelled(&[canvas()], &proposals, 0.5, true, 10);
        let labels: Vec<usize> = regions.iter().map(|r| r.label).collect();
        // Proposals, then the two ground-truth boxes themselves.
        assert_eq!(labels, [3, 10, 7, 3, 7]);
        assert_eq!(labelled(&[canvas()], &proposals, 0.5, false, 10).len(), 3);
    }

    #[test]
    fn the_evaluation_sample_keeps_every_positive_and_spreads_the_background() {
        let region = |label| Region {
            canvas: 0,
            bbox: BBox::new(0.0, 0.0, 1.0, 1.0),
            label,
        };
        let regions: Vec<Region> = (0..5000)
            .map(|i| region(if i % 50 == 0 { 1 } else { 10 }))
            .collect();
        let sample = eval_sample(regions, 10);
        let positives = sample.iter().filter(|r| r.label == 1).count();
        assert_eq!(positives, 100);
        assert!(sample.len() <= FINETUNE_EVAL_REGIONS && sample.len() > 1500);
    }
}
