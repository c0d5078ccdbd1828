//! `random_labels` and `expressivity` end to end on the real binary, and their spec errors.

mod common;

use std::path::{Path, PathBuf};

use common::*;

fn smoke(name: &str) -> PathBuf {
    repo().join("experiments/smoke").join(name)
}

fn run_spec(spec: &Path, results: &Path, extra: &[&str]) -> (PathBuf, std::process::Output) {
    let mut args = vec![
        "run",
        spec.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let name = spec.file_stem().unwrap().to_str().unwrap();
    (only_run_dir(results, name), out)
}

fn num(row: &std::collections::HashMap<String, String>, col: &str) -> f64 {
    row[col]
        .parse()
        .unwrap_or_else(|_| panic!("{col} = {:?} is not a number", row[col]))
}

#[test]
fn tiny_randomization_run_records_corruption_fit_and_params() {
    let results = tempfile::tempdir().unwrap();
    let (dir, out) = run_spec(&smoke("random_labels_tiny.toml"), results.path(), &[]);
    let summary = read_csv(&dir.join("summary.csv"));
    let names: Vec<&str> = summary.iter().map(|r| r["variant"].as_str()).collect();
    assert_eq!(
        names,
        [
            "true-labels",
            "random-labels",
            "shuffled-pixels",
            "gaussian",
            "alexnet-crop",
            "inception-bn"
        ]
    );
    let row = |name: &str| summary.iter().find(|r| r["variant"] == name).unwrap();
    // 784*64 + 64 + 64*10 + 10 weights.
    assert_eq!(row("true-labels")["params"], "50890");
    assert!(num(row("alexnet-crop"), "params") > 0.0);
    assert!(stdout(&out).contains("| params"), "{}", stdout(&out));
    // What the corruption did is recorded; 300 labels, p = 1: about 90% change.
    assert_eq!(num(row("true-labels"), "labels_changed"), 0.0);
    assert_eq!(num(row("gaussian"), "labels_changed"), 0.0);
    let changed = num(row("random-labels"), "labels_changed");
    assert!((0.83..0.97).contains(&changed), "{changed}");
    assert_eq!(num(row("random-labels"), "label_noise"), 1.0);
    assert_eq!(row("alexnet-crop")["paper_test_accuracy"], "0.7966");

    for r in &summary {
        assert_eq!(r["status"], "done");
        let train_acc = num(r, "final_train_set_accuracy");
        let steps = num(r, "steps");
        // A variant stops at its first evaluation with the whole training set fitted.
        if train_acc >= 1.0 {
            assert_eq!(num(r, "fit_step"), steps, "{}", r["variant"]);
            assert!(num(r, "fit99_step") <= steps, "{}", r["variant"]);
        } else {
            assert_eq!(r["fit_step"], "", "{}", r["variant"]);
        }
        assert!((num(r, "final_test_error") + num(r, "final_test_accuracy") - 1.0).abs() < 1e-9);
    }
    // True labels on 300 digits are fitted before the 100-step budget ends.
    assert!(num(row("true-labels"), "steps") < 100.0);
    assert_eq!(num(row("true-labels"), "final_train_set_accuracy"), 1.0);

    let metrics = read_csv(&dir.join("random-labels/metrics.csv"));
    assert!(metrics[0].contains_key("train_set_accuracy"));
    assert!(metrics[0].contains_key("train_set_loss"));
    let first = num(&metrics[0], "train_set_accuracy");
    let last = num(metrics.last().unwrap(), "train_set_accuracy");
    assert!(
        last > first,
        "random labels are being memorized: {first} -> {last}"
    );
    // Test labels stay true: a net trained on random labels is near chance on them.
    assert!(num(row("random-labels"), "final_test_accuracy") < 0.3);

    // The resolved spec carries the corruption and reloads.
    let resolved = std::fs::read_to_string(dir.join("spec.toml")).unwrap();
    assert!(resolved.contains("[variant.corruption]"), "{resolved}");
    let check = run(&["check", dir.join("spec.toml").to_str().unwrap()]);
    assert!(check.status.success(), "{}", stderr(&check));
}

#[test]
fn crop_augmentation_and_corruption_are_deterministic() {
    let results = tempfile::tempdir().unwrap();
    let spec = smoke("random_labels_tiny.toml");
    let sets = [
        "-q",
        "--set",
        "variant.gaussian.data.random_crop=1",
        "--set",
        "train.steps=20",
    ];
    let mut args = vec![
        "run",
        spec.to_str().unwrap(),
        "--results",
        results.path().to_str().unwrap(),
    ];
    args.extend_from_slice(&sets);
    for _ in 0..2 {
        let out = run(&args);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(results.path().join("random_labels_tiny"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    for v in ["gaussian", "random-labels", "alexnet-crop"] {
        let a = std::fs::read(dirs[0].join(v).join("metrics.csv")).unwrap();
        let b = std::fs::read(dirs[1].join(v).join("metrics.csv")).unwrap();
        assert_eq!(a, b, "{v}");
    }
}

#[test]
fn expressivity_fits_true_and_random_labels_exactly() {
    let results = tempfile::tempdir().unwrap();
    let (dir, out) = run_spec(&smoke("expressivity_tiny.toml"), results.path(), &[]);
    let summary = read_csv(&dir.join("summary.csv"));
    assert_eq!(summary.len(), 2);
    for r in &summary {
        assert_eq!(r["status"], "done");
        assert_eq!(num(r, "n"), 300.0);
        assert_eq!(num(r, "d"), 784.0);
        assert_eq!(num(r, "weights"), (2 * 300 + 784) as f64);
        assert_eq!(num(r, "params"), (2 * 300 + 784) as f64);
        assert!(num(r, "max_residual") < 1e-6, "{r:?}");
        assert_eq!(num(r, "rounded_train_accuracy"), 1.0);
    }
    assert!(num(&summary[1], "labels_changed") > 0.8);
    assert!(stdout(&out).contains("max_residual"), "{}", stdout(&out));
}

/// `(exit code, stderr)` of `runner check` on `text` with `--set`s.
fn check(text: &str, sets: &[&str]) -> (Option<i32>, String) {
    let (code, err, _) = check_spec(text, sets);
    (code, err)
}

fn tiny() -> String {
    std::fs::read_to_string(smoke("random_labels_tiny.toml")).unwrap()
}

#[test]
fn new_keys_are_validated_with_locations() {
    let cases = [
        (
            "model.arch=alexnet",
            "error: --set model.arch=alexnet: model.arch: unknown value `alexnet` (did you mean \
             `alexnet_small`?); expected one of: mlp, alexnet_small, inception_small",
        ),
        (
            "corruption.label=1",
            "error: --set corruption.label=1: corruption.label: unknown key `label` (did you \
             mean `labels`?); known keys here: labels, images",
        ),
        (
            "corruption.labels=1.5",
            "error: --set corruption.labels=1.5: corruption.labels: is a probability in [0, 1], \
             got 1.5",
        ),
        (
            "corruption.images=shuffled",
            "error: --set corruption.images=shuffled: corruption.images: unknown value \
             `shuffled` (did you mean `shuffled_pixels`?); expected one of: none, \
             shuffled_pixels, random_pixels, gaussian",
        ),
        (
            "model.width=0",
            "error: --set model.width=0: model.width: must be positive, got 0",
        ),
        (
            "data.random_crop=9",
            "error: --set data.random_crop=9: data.random_crop: is a shift of at most 8 pixels, \
             got 9",
        ),
        (
            "eval.stop_at_train_accuracy=2",
            "error: --set eval.stop_at_train_accuracy=2: eval.stop_at_train_accuracy: is a \
             fraction in [0, 1], got 2",
        ),
        (
            "variant.alexnet-crop.model.batch_norm=true",
            "error: --set variant.alexnet-crop.model.batch_norm=true: model.batch_norm: \
             alexnet_small has no batch normalization (it uses local response normalization)",
        ),
    ];
    for (set, expected) in cases {
        let (code, err) = check(&tiny(), &[set]);
        assert_eq!(code, Some(1), "{set}");
        assert_eq!(err, expected);
    }
}

#[test]
fn typos_in_the_file_point_at_the_line() {
    let text = tiny().replace("corruption.labels = 1.0", "corruption.lables = 1.0");
    let (code, err) = check(&text, &[]);
    assert_eq!(code, Some(1));
    assert_eq!(
        err,
        "error: SPEC:36:12: corruption.lables: unknown key `lables` (did you mean `labels`?); \
         known keys here: labels, images"
    );
    let text = tiny().replace("model.width = 0.125", "model.width = -1.0");
    let (code, err) = check(&text, &[]);
    assert_eq!(code, Some(1));
    assert_eq!(
        err,
        "error: SPEC:49:7: model.width: must be positive, got -1"
    );
}

#[test]
fn other_kinds_refuse_random_labels_settings() {
    let bn = std::fs::read_to_string(tiny_spec()).unwrap();
    let cases = [
        (
            "model.arch=inception_small",
            "error: --set model.arch=inception_small: model.arch: `inception_small` is a \
             random_labels architecture; bn_ablation uses arch = \"mlp\"",
        ),
        (
            "corruption.labels=0.5",
            "error: --set corruption.labels=0.5: corruption: only random_labels and \
             expressivity corrupt data; remove [corruption] from this bn_ablation spec",
        ),
        (
            "data.random_crop=2",
            "error: --set data.random_crop=2: data.random_crop: only random_labels augments \
             images; bn_ablation does not",
        ),
        (
            "eval.stop_at_train_accuracy=1",
            "error: --set eval.stop_at_train_accuracy=1: eval.stop_at_train_accuracy: only \
             random_labels measures training-set accuracy; bn_ablation does not",
        ),
        (
            "data.whiten=true",
            "error: --set data.whiten=true: data.whiten: only random_labels and expressivity \
             whiten images; bn_ablation does not",
        ),
    ];
    for (set, expected) in cases {
        let (code, err) = check(&bn, &[set]);
        assert_eq!(code, Some(1), "{set}");
        assert_eq!(err, expected);
    }
    // Untouched, a bn_ablation spec resolves without a [corruption] section.
    let (code, err) = check(&bn, &[]);
    assert_eq!(code, Some(0), "{err}");
}
