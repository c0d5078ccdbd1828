//! The `rcnn` kind on the real binary: a tiny end-to-end run of the whole pipeline (canvases,
//! selective search, pre-training, fine-tuning, SVMs, box regression, NMS, AP), with the
//! variants sharing the cached stages, a byte-identical rerun, a resumed run that recomputes
//! a variant from the cache, and located errors in `[rcnn]`.

mod common;

use std::path::Path;

use common::*;

const SPEC: &str = "experiments/smoke/rcnn_tiny.toml";

fn run_tiny(results: &Path) -> std::path::PathBuf {
    let out = run(&[
        "run",
        SPEC,
        "--results",
        results.to_str().unwrap(),
        "--threads",
        "2",
        "-q",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    only_run_dir(results, "rcnn_tiny")
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn tiny_pipeline_runs_end_to_end_and_reruns_identically() {
    let results = tempfile::tempdir().unwrap();
    let dir = run_tiny(results.path());
    let rows = read_csv(&dir.join("summary.csv"));
    assert_eq!(rows.len(), 2);
    for row in &rows {
        let map: f64 = row["map"].parse().unwrap();
        assert!((0.0..=1.0).contains(&map), "mAP {map}");
        let recall: f64 = row["recall_05"].parse().unwrap();
        assert!((0.0..=1.0).contains(&recall));
        assert!(row["proposals_per_image"].parse::<f64>().unwrap() > 0.0);
        let v = dir.join(&row["variant"]);
        let ap = read_csv(&v.join("ap.csv"));
        assert_eq!(ap.len(), 10, "one row per digit class");
        let detections = read_csv(&v.join("detections.csv"));
        assert!(
            detections
                .iter()
                .all(|d| d["score"].parse::<f32>().unwrap() > -1.0)
        );
        for i in 0..2 {
            let png = read(&v.join(format!("detections_{i:03}.png")));
            assert_eq!(&png[1..4], b"PNG");
        }
    }
    // The variants share one pre-trained network (and only the first fine-tunes), and the
    // canvases are written once as a dataset with a box table.
    let cache = dir.join("cache");
    let stages: Vec<String> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for stage in ["canvases-", "proposals-", "pretrain-", "finetune-"] {
        assert_eq!(
            stages.iter().filter(|s| s.starts_with(stage)).count(),
            1,
            "{stages:?}"
        );
    }
    let canvases = stages.iter().find(|s| s.starts_with("canvases-")).unwrap();
    assert!(cache.join(canvases).join("test/boxes.csv").exists());

    // Same spec, seed and threads: identical results, byte for byte.
    let again = tempfile::tempdir().unwrap();
    let dir2 = run_tiny(again.path());
    for row in &rows {
        for file in ["ap.csv", "detections.csv", "metrics.csv"] {
            let (a, b) = (
                dir.join(&row["variant"]).join(file),
                dir2.join(&row["variant"]).join(file),
            );
            if a.exists() || b.exists() {
                assert_eq!(read(&a), read(&b), "{}", a.display());
            }
        }
    }

    // A resumed run whose last variant did not finish recomputes it from the cache (the
    // in-memory features are gone) and gets the same numbers.
    let last = dir2.join("noft-fc7");
    let ap_before = read(&last.join("ap.csv"));
    std::fs::remove_file(last.join("result.json")).unwrap();
    std::fs::remove_file(last.join("ap.csv")).unwrap();
    let out = run(&["resume", dir2.to_str().unwrap(), "--threads", "2", "-q"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(read(&last.join("ap.csv")), ap_before);
}

#[test]
fn rcnn_spec_errors_are_located() {
    let text = std::fs::read_to_string(repo().join(SPEC)).unwrap();
    let (code, err, _) = check_spec(&text, &["rcnn.context_padding=8"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("rcnn.context_padding"), "{err}");
    let bad = text.replace("fc_units = 32", "fc_unit = 32");
    let (code, err, _) = check_spec(&bad, &[]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("SPEC:") && err.contains("did you mean `fc_units`"),
        "{err}"
    );
    let (code, err, _) = check_spec(&text, &["rcnn.feature=\"fc8\""]);
    assert_eq!(code, Some(1));
    assert!(err.contains("rcnn.feature"), "{err}");
    // The mining keys, the pre-training dataset and the min segment size, each named with
    // what is wrong.
    for (set, key, says) in [
        ("rcnn.mining=\"greedy\"", "mining", "reference"),
        ("rcnn.retrain_limit=0", "rcnn.retrain_limit", "at least 1"),
        ("rcnn.retrain_limit=-5", "retrain_limit", ""),
        ("rcnn.evict_threshold=-0.5", "rcnn.evict_threshold", "below"),
        ("rcnn.evict_threshold=nan", "rcnn.evict_threshold", "below"),
        (
            "rcnn.pretrain_dataset=\"imagenet\"",
            "rcnn.pretrain_dataset",
            "imagenet",
        ),
        (
            "rcnn.pretrain_dataset=\"cifar10\"",
            "rcnn.pretrain_dataset",
            "image shape",
        ),
        ("rcnn.selective_search.min_size=\"q\"", "min_size", "\"k\""),
        (
            "rcnn.selective_search.min_size=-1",
            "min_size",
            "number of pixels",
        ),
    ] {
        let (code, err, _) = check_spec(&text, &[set]);
        assert_eq!(code, Some(1), "{set}: {err}");
        assert!(err.contains(key) && err.contains(says), "{set}: {err}");
    }
    for set in [
        "rcnn.mining=\"rounds\"",
        "rcnn.pretrain_dataset=\"fashion-mnist\"",
        "rcnn.selective_search.min_size=\"k\"",
        "rcnn.selective_search.min_size=30",
    ] {
        let (code, err, _) = check_spec(&text, &[set]);
        assert_eq!(code, Some(0), "{set}: {err}");
    }
}
