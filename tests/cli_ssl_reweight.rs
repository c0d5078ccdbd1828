//! The `ssl_reweight` kind on the real binary: a tiny FixMatch-style run of every weighting
//! (with an out-of-distribution variant), its outputs, a rerun giving the same bytes, a
//! resume that restores the learned weights, the toy study's files, the paper's claims on a
//! tiny toy study failing once the weights are frozen, and located spec errors.

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::*;

fn tiny() -> std::path::PathBuf {
    repo().join("experiments/smoke/ssl_reweight_tiny.toml")
}

fn run_spec(spec: &Path, results: &Path) -> std::path::PathBuf {
    let out = run(&[
        "run",
        spec.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
        "-q",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let name = spec.file_stem().unwrap().to_str().unwrap();
    only_run_dir(results, name)
}

fn num(row: &HashMap<String, String>, key: &str) -> f64 {
    row[key]
        .parse()
        .unwrap_or_else(|_| panic!("{key} = {:?}", row[key]))
}

#[test]
fn tiny_run_writes_weights_and_summaries_and_reruns_identically() {
    let results = tempfile::tempdir().unwrap();
    let dir = run_spec(&tiny(), results.path());
    let summary = read_csv(&dir.join("summary.csv"));
    let names: Vec<&str> = summary.iter().map(|r| r["variant"].as_str()).collect();
    assert_eq!(
        names,
        [
            "supervised-s1",
            "uniform-s1",
            "learned-s1",
            "learned-s2",
            "shuffled-s1",
            "ours-2026-s1",
            "learned-ood"
        ]
    );
    for row in &summary {
        assert_eq!(row["status"], "done");
        assert_eq!(num(row, "labels"), 20.0);
        assert_eq!(num(row, "validation"), 50.0);
        let acc = num(row, "final_test_accuracy");
        assert!((0.0..=1.0).contains(&acc));
        assert!((num(row, "final_test_error") - (1.0 - acc)).abs() < 1e-12);
    }
    let by = |name: &str| summary.iter().find(|r| r["variant"] == name).unwrap();
    // Supervised training never looks at the unlabeled set.
    assert_eq!(by("supervised-s1")["final_mask_rate"], "");
    assert!(!dir.join("supervised-s1/weights.csv").exists());
    // Uniform weights stay 1. Learned ones move for every example of an updated batch (the
    // authors' procedure), confident or not; with `update_examples = "confident"` (ours-2026)
    // for exactly the examples that had a confident pseudo-label.
    assert_eq!(num(by("uniform-s1"), "weights_updated"), 0.0);
    let learned = by("learned-s1");
    assert!(num(learned, "pseudo_labeled") > 0.0);
    assert!(
        num(learned, "weights_updated") > num(learned, "pseudo_labeled"),
        "unconfident examples got weight updates too"
    );
    // 6 updates (steps 0, 5, ..., 25) of 32 examples each, over 200 unlabeled ones.
    assert!(num(learned, "weights_updated") <= 6.0 * 32.0);
    let confident_only = by("ours-2026-s1");
    assert_eq!(
        num(confident_only, "weights_updated"),
        num(confident_only, "pseudo_labeled"),
        "exactly the examples that had a confident pseudo-label got weight updates"
    );
    // The shuffled control learns weights as `learned` does.
    assert!(num(by("shuffled-s1"), "weights_updated") > 0.0);

    // influence.csv: per update (steps 1, 6, ..., 26 as the step count after it) and group,
    // the examples of the batch (32 in all, 16 labeled x mu 2), confident ones among them, the
    // mean influence, its share positive and the mean weight after the update.
    let influence = read_csv(&dir.join("learned-s1/influence.csv"));
    let mut per_step: std::collections::BTreeMap<u64, f64> = Default::default();
    for r in &influence {
        assert!(["right", "wrong"].contains(&r["group"].as_str()), "{r:?}");
        *per_step.entry(num(r, "step") as u64).or_default() += num(r, "examples");
        assert!(num(r, "confident") <= num(r, "examples"));
        assert!((0.0..=1.0).contains(&num(r, "positive_share")));
        assert!(num(r, "mean_influence").is_finite());
        assert!((0.0..=2.0).contains(&num(r, "mean_weight")));
    }
    assert_eq!(
        per_step.keys().copied().collect::<Vec<_>>(),
        [1, 6, 11, 16, 21, 26]
    );
    assert!(per_step.values().all(|&n| n == 32.0), "{per_step:?}");
    // Confident-only updates: every updated example is confident, at every step.
    let influence = read_csv(&dir.join("ours-2026-s1/influence.csv"));
    assert!(!influence.is_empty());
    for r in &influence {
        assert_eq!(r["confident"], r["examples"], "{r:?}");
    }
    // The OOD variant's noise images form their own group.
    let ood_influence = read_csv(&dir.join("learned-ood/influence.csv"));
    assert!(ood_influence.iter().any(|r| r["group"] == "ood"));
    // The OOD variant: 20% of the unlabeled set is random-pixel images.
    let ood = by("learned-ood");
    assert_eq!(num(ood, "unlabeled"), 250.0);
    assert_eq!(num(ood, "ood_examples"), 50.0);

    // weights.csv: 30 logged examples per evaluation (steps 10, 20, 30).
    let weights = read_csv(&dir.join("learned-s1/weights.csv"));
    assert_eq!(weights.len(), 90);
    let steps: std::collections::BTreeSet<&str> =
        weights.iter().map(|r| r["step"].as_str()).collect();
    assert_eq!(steps.into_iter().collect::<Vec<_>>(), ["10", "20", "30"]);
    let mut moved = 0;
    for r in &weights {
        let w = num(r, "weight");
        assert!((0.0..=2.0).contains(&w), "{w}");
        assert_eq!(r["is_ood"], "0");
        if r["updates"] == "0" {
            assert_eq!(w, 1.0);
        } else {
            moved += 1;
        }
        // The last confident pseudo-label, if any (weights are updated without one too).
        if r["pseudo_label"].is_empty() {
            assert_eq!(r["correct"], "");
        } else {
            let right = r["pseudo_label"] == r["true_label"];
            assert_eq!(r["correct"], if right { "1" } else { "0" });
        }
    }
    assert!(moved > 0, "some logged weights were learned");
    // Every unlabeled example of the OOD variant is logged (weights_log = 0), the noise
    // images without a true label.
    let ood_rows = read_csv(&dir.join("learned-ood/weights.csv"));
    let last: Vec<_> = ood_rows.iter().filter(|r| r["step"] == "30").collect();
    assert_eq!(last.len(), 250);
    let noise: Vec<_> = last.iter().filter(|r| r["is_ood"] == "1").collect();
    assert_eq!(noise.len(), 50);
    assert!(noise.iter().all(|r| r["true_label"].is_empty()));

    // Seeds: the two learned-sN variants are summarized together (the others have one seed).
    let seeds = read_csv(&dir.join("summary_seeds.csv"));
    assert_eq!(seeds.len(), 1);
    assert_eq!(seeds[0]["variant"], "learned");

    // Same spec, seed and threads: the same bytes (augmentations and batches are seeded per
    // step, the weights are learned deterministically).
    let again = tempfile::tempdir().unwrap();
    let dir2 = run_spec(&tiny(), again.path());
    for f in [
        "learned-s1/metrics.csv",
        "learned-s1/weights.csv",
        "learned-s1/influence.csv",
        "learned-ood/weights.csv",
        "shuffled-s1/metrics.csv",
        "uniform-s1/metrics.csv",
    ] {
        assert_eq!(
            std::fs::read(dir.join(f)).unwrap(),
            std::fs::read(dir2.join(f)).unwrap(),
            "{f}"
        );
    }
}

/// A variant interrupted after its step-20 checkpoint resumes with its learned weights (and
/// their Adam state) restored: the same metrics and weights as the uninterrupted run.
#[test]
fn resume_restores_the_learned_weights() {
    let results = tempfile::tempdir().unwrap();
    let dir = run_spec(&tiny(), results.path());
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let reference_metrics = read("learned-s1/metrics.csv");
    let reference_weights = read("learned-s1/weights.csv");
    let reference_influence = read("learned-s1/influence.csv");
    let checkpoints = dir.join("learned-s1/checkpoints");
    let kept: Vec<_> = std::fs::read_dir(&checkpoints)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(kept, ["step-0000000020"]);
    assert!(checkpoints.join("step-0000000020/ssl_state.json").exists());
    // As if killed after step 25: no result, rows written after the checkpoint.
    std::fs::remove_file(dir.join("learned-s1/result.json")).unwrap();
    let out = run(&["resume", dir.to_str().unwrap(), "-q"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(read("learned-s1/metrics.csv"), reference_metrics);
    assert_eq!(read("learned-s1/weights.csv"), reference_weights);
    assert_eq!(read("learned-s1/influence.csv"), reference_influence);

    // Without the saved weights the resume would silently restart them at 1: the checkpoint
    // is passed over (its files.json lists them), and the variant starts again from step 0,
    // to the same metrics and weights.
    std::fs::remove_file(dir.join("learned-s1/result.json")).unwrap();
    std::fs::remove_file(checkpoints.join("step-0000000020/ssl_state.json")).unwrap();
    let out = run(&["resume", dir.to_str().unwrap(), "-q"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("ssl_state.json is missing") && err.contains("starts again from step 0"),
        "{err}"
    );
    assert_eq!(read("learned-s1/metrics.csv"), reference_metrics);
    assert_eq!(read("learned-s1/weights.csv"), reference_weights);
    assert_eq!(read("learned-s1/influence.csv"), reference_influence);
}

#[test]
fn toy_study_writes_points_boundaries_and_a_plot() {
    let results = tempfile::tempdir().unwrap();
    let dir = run_spec(
        &repo().join("experiments/smoke/ssl_reweight_toy_tiny.toml"),
        results.path(),
    );
    let v = dir.join("ssl_reweight_toy_tiny");
    let points = read_csv(&v.join("points.csv"));
    let unlabeled: Vec<_> = points.iter().filter(|r| r["set"] == "unlabeled").collect();
    assert_eq!(unlabeled.len(), 60);
    assert_eq!(points.iter().filter(|r| r["set"] == "labeled").count(), 4);
    let boundaries = read_csv(&v.join("boundaries.csv"));
    let models: Vec<&str> = boundaries.iter().map(|r| r["model"].as_str()).collect();
    assert_eq!(models, ["true", "labeled_only", "uniform", "learned"]);
    let svg = std::fs::read_to_string(v.join("toy.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("<circle"));
    let summary = &read_csv(&dir.join("summary.csv"))[0];
    assert!(num(summary, "pseudo_label_errors") > 0.0);
    // The points the labeled-only model got wrong lose weight; the others keep theirs.
    assert!(num(summary, "mean_weight_wrong") < 0.5 * num(summary, "mean_weight_correct"));
    assert!(num(summary, "learned_test_accuracy") >= num(summary, "labeled_only_test_accuracy"));
    let metrics = read_csv(&v.join("metrics.csv"));
    assert_eq!(metrics.len(), 2);
}

#[test]
fn ssl_spec_errors_are_located() {
    let text = std::fs::read_to_string(tiny()).unwrap();
    let (code, err, _) = check_spec(&text.replace("mu = 2", "muu = 2"), &[]);
    assert_eq!(code, Some(1));
    assert!(
        err.starts_with("error: SPEC:31:1: ssl.muu: unknown key `muu` (did you mean `mu`?)"),
        "{err}"
    );
    let (code, err, _) = check_spec(&text, &["ssl.labels=25"]);
    assert_eq!(code, Some(1));
    assert_eq!(
        err,
        "error: --set ssl.labels=25: ssl.labels: labels are balanced over mnist-10k's 10 \
         classes: use a positive multiple of 10, got 25"
    );
    let (code, err, _) = check_spec(&text, &["variant.learned-s1.ssl.weighting=learnt"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("unknown value `learnt` (did you mean `learned`?)"),
        "{err}"
    );
    let (code, err, _) = check_spec(&text, &["model.hidden=[32, 400]"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("the last layer's Hessian would have 4000 rows (10 classes x (400))"),
        "{err}"
    );
    let (code, err, _) = check_spec(
        &text,
        &["ssl.ood_dataset=\"fashion-mnst\"", "ssl.ood_fraction=0.1"],
    );
    assert_eq!(code, Some(1));
    assert!(err.contains("ssl.ood_dataset"), "{err}");
    // The section belongs to its kind.
    let (code, err, _) = check_spec(
        &std::fs::read_to_string(tiny_spec()).unwrap(),
        &["ssl.mu=3"],
    );
    assert_eq!(code, Some(1));
    assert!(
        err.contains("ssl: the [ssl] section is for kind `ssl_reweight`, not `bn_ablation`"),
        "{err}"
    );
}
