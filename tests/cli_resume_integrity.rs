//! Resume checks what it finds before trusting it: every checkpoint file against the SHA-256
//! its `files.json` records, its state against the spec and metrics.csv. A damaged newest
//! checkpoint is passed over for the older one kept beside it, and with none intact the
//! variant starts again from step 0; either way saying so, and ending byte-identical to the
//! uninterrupted run.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;
use sha2::{Digest, Sha256};

/// What the uninterrupted run wrote: bn's metrics.csv, and summary.csv's numbers.
struct Reference {
    metrics: Vec<u8>,
    summary: Vec<(String, String)>,
}

/// A finished tiny run under `results`, returned with bn's `result.json` removed (as if killed
/// after its step-40 checkpoint), and what the finished run wrote.
fn resumable_tiny(results: &Path) -> (PathBuf, Reference) {
    let dir = run_tiny(results, &[]);
    std::fs::remove_file(dir.join("bn/result.json")).unwrap();
    let reference = Reference {
        metrics: std::fs::read(dir.join("bn/metrics.csv")).unwrap(),
        summary: summary_numbers(&dir),
    };
    (dir, reference)
}

fn summary_numbers(dir: &Path) -> Vec<(String, String)> {
    read_csv(&dir.join("summary.csv"))
        .iter()
        .map(|r| (r["variant"].clone(), r["final_test_accuracy"].clone()))
        .collect()
}

fn resume(dir: &Path) -> Output {
    run(&["resume", dir.to_str().unwrap(), "-q"])
}

/// Resumes `dir`, which must succeed with the reference's results, byte for byte; its stderr.
fn resume_matches(dir: &Path, reference: &Reference) -> String {
    let out = resume(dir);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        std::fs::read(dir.join("bn/metrics.csv")).unwrap() == reference.metrics,
        "bn/metrics.csv differs from the uninterrupted run's; stderr: {err}"
    );
    assert_eq!(summary_numbers(dir), reference.summary, "{err}");
    err
}

fn checkpoint(dir: &Path, step: u64) -> PathBuf {
    dir.join(format!("bn/checkpoints/step-{step:010}"))
}

/// Overwrites 4 bytes in the middle of `path` (weights, not the header).
fn damage(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 4] {
        *b ^= 0x5a;
    }
    std::fs::write(path, bytes).unwrap();
}

fn sha256(path: &Path) -> String {
    Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Rewrites a checkpoint's `state.json` with `edit`, and its `files.json` to match: a forged
/// checkpoint whose hashes agree, which only the state checks can catch.
fn forge_state(ck: &Path, edit: impl Fn(&mut serde_json::Value)) {
    let state_path = ck.join("state.json");
    let mut state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state_path).unwrap()).unwrap();
    edit(&mut state);
    std::fs::write(&state_path, serde_json::to_vec_pretty(&state).unwrap()).unwrap();
    let seal_path = ck.join("files.json");
    let mut seal: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&seal_path).unwrap()).unwrap();
    seal["files"]["state.json"] = sha256(&state_path).into();
    std::fs::write(&seal_path, serde_json::to_vec_pretty(&seal).unwrap()).unwrap();
}

fn passed_over(err: &str, ck: &Path, why: &str) -> bool {
    err.lines().any(|l| {
        l.starts_with("warning: not resuming from ")
            && l.contains(&ck.display().to_string())
            && l.contains(why)
    })
}

#[test]
fn every_checkpoint_records_the_sha256_of_its_files_and_of_metrics_csv() {
    let results = tempfile::tempdir().unwrap();
    let (dir, _) = resumable_tiny(results.path());
    for step in [20, 40] {
        let ck = checkpoint(&dir, step);
        let seal: serde_json::Value =
            serde_json::from_slice(&std::fs::read(ck.join("files.json")).unwrap()).unwrap();
        for f in ["model.bpk", "optimizer.bpk", "state.json"] {
            assert_eq!(seal["files"][f], sha256(&ck.join(f)), "{f} at step {step}");
        }
        assert_eq!(seal["metrics_sha256"].as_str().unwrap().len(), 64);
    }
}

#[test]
fn a_newest_checkpoint_with_4_bytes_of_its_model_overwritten_is_passed_over_for_the_older_one() {
    let results = tempfile::tempdir().unwrap();
    let (dir, reference) = resumable_tiny(results.path());
    damage(&checkpoint(&dir, 40).join("model.bpk"));
    let err = resume_matches(&dir, &reference);
    assert!(
        passed_over(&err, &checkpoint(&dir, 40), "model.bpk does not match"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "resuming from the older checkpoint {}",
            checkpoint(&dir, 20).display()
        )),
        "{err}"
    );
}

#[test]
fn checkpoints_whose_state_is_at_step_0_or_10_to_the_12_or_has_impossible_sums_are_passed_over() {
    let results = tempfile::tempdir().unwrap();
    let (dir, reference) = resumable_tiny(results.path());
    let ck40 = checkpoint(&dir, 40);
    // A copy of the step-40 checkpoint far past train.steps, consistent with its own name.
    let far = dir.join("bn/checkpoints/step-1000000000000");
    std::fs::create_dir(&far).unwrap();
    for e in std::fs::read_dir(&ck40).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, far.join(p.file_name().unwrap())).unwrap();
    }
    forge_state(&far, |s| s["step"] = 1_000_000_000_000u64.into());
    forge_state(&ck40, |s| s["step"] = 0.into());
    forge_state(&checkpoint(&dir, 20), |s| s["seen"] = (-1.0).into());
    let err = resume_matches(&dir, &reference);
    assert!(passed_over(&err, &far, "is at step 1000000000000"), "{err}");
    assert!(passed_over(&err, &ck40, "says step 0"), "{err}");
    assert!(
        passed_over(&err, &checkpoint(&dir, 20), "impossible running sums"),
        "{err}"
    );
    assert!(err.contains("starts again from step 0"), "{err}");
}

/// With no intact checkpoint left, starting the variant again from step 0 (rather than
/// refusing) keeps the results byte-identical, and stderr says so.
#[test]
fn with_no_intact_checkpoint_the_variant_starts_again_from_step_0_byte_identically() {
    let results = tempfile::tempdir().unwrap();
    let (dir, reference) = resumable_tiny(results.path());
    damage(&checkpoint(&dir, 20).join("optimizer.bpk"));
    // An empty checkpoint folder (a copy that lost its files).
    for e in std::fs::read_dir(checkpoint(&dir, 40)).unwrap() {
        std::fs::remove_file(e.unwrap().path()).unwrap();
    }
    let err = resume_matches(&dir, &reference);
    assert!(
        passed_over(&err, &checkpoint(&dir, 40), "has no files.json"),
        "{err}"
    );
    assert!(
        passed_over(&err, &checkpoint(&dir, 20), "optimizer.bpk does not match"),
        "{err}"
    );
    assert!(
        err.contains("no intact checkpoint is left") && err.contains("starts again from step 0"),
        "{err}"
    );
    // The damaged ones were replaced by good checkpoints as the steps were run again.
    std::fs::remove_file(dir.join("bn/result.json")).unwrap();
    let again = resume(&dir);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(!stderr(&again).contains("warning"), "{}", stderr(&again));
}

/// metrics.csv must hold the rows a checkpoint was saved with: an edited row before it, or a
/// file that lost its rows, sends the resume back to a checkpoint whose rows still match.
#[test]
fn a_metrics_csv_that_does_not_match_the_checkpoint_sends_resume_back_to_one_that_does() {
    let results = tempfile::tempdir().unwrap();
    let (dir, reference) = resumable_tiny(results.path());
    let metrics = dir.join("bn/metrics.csv");
    let text = String::from_utf8(reference.metrics.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // Row 40 edited (test accuracy 0.99): the step-40 checkpoint does not match, step 20 does.
    let mut edited: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let mut fields: Vec<String> = edited[2].split(',').map(str::to_string).collect();
    assert_eq!(fields[0], "40");
    fields[6] = "0.99".into();
    edited[2] = fields.join(",");
    std::fs::write(&metrics, edited.join("\n") + "\n").unwrap();
    let err = resume_matches(&dir, &reference);
    assert!(
        passed_over(
            &err,
            &checkpoint(&dir, 40),
            "metrics.csv does not hold the rows"
        ),
        "{err}"
    );
    assert!(err.contains("older checkpoint"), "{err}");

    // Without metrics.csv no checkpoint matches: bn starts again.
    std::fs::remove_file(dir.join("bn/result.json")).unwrap();
    std::fs::remove_file(&metrics).unwrap();
    let err = resume_matches(&dir, &reference);
    assert!(err.contains("starts again from step 0"), "{err}");
}

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

fn edit_spec(dir: &Path, from: &str, to: &str) {
    let path = dir.join("spec.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{from}");
    std::fs::write(&path, text.replace(from, to)).unwrap();
}

#[test]
fn the_manifest_records_the_sha256_of_spec_toml() {
    let results = tempfile::tempdir().unwrap();
    let (dir, _) = resumable_tiny(results.path());
    assert_eq!(
        manifest(&dir)["spec_sha256"],
        sha256(&dir.join("spec.toml"))
    );
}

/// An edited spec.toml (another learning rate) is refused before anything runs, naming the
/// file and the flag that continues anyway; nothing in the run dir changes.
#[test]
fn an_edited_spec_toml_is_refused_naming_it_and_what_to_do() {
    let results = tempfile::tempdir().unwrap();
    let (dir, reference) = resumable_tiny(results.path());
    edit_spec(&dir, "lr = 0.5\n", "lr = 0.1\n");
    let before = std::fs::read(dir.join("manifest.json")).unwrap();
    let out = resume(&dir);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let first = err.lines().next().unwrap();
    assert!(
        first.starts_with("error: ")
            && first.contains(&dir.join("spec.toml").display().to_string())
            && first.contains("was edited after the run started")
            && first.contains("--accept-edited-spec"),
        "{err}"
    );
    assert_eq!(std::fs::read(dir.join("manifest.json")).unwrap(), before);
    assert_eq!(
        std::fs::read(dir.join("bn/metrics.csv")).unwrap(),
        reference.metrics
    );
    assert!(!dir.join("bn/result.json").exists());

    // A manifest without the hash (a run of an older runner) cannot vouch for its spec.
    edit_spec(&dir, "lr = 0.1\n", "lr = 0.5\n");
    let mut m = manifest(&dir);
    m.as_object_mut().unwrap().remove("spec_sha256");
    std::fs::write(dir.join("manifest.json"), m.to_string()).unwrap();
    let out = resume(&dir);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("records no SHA-256")
            && stderr(&out).contains("--accept-edited-spec"),
        "{}",
        stderr(&out)
    );
}

/// `--accept-edited-spec` continues with the edit (here train.steps below the newest
/// checkpoint, which is then passed over) and records it; later resumes check the new hash.
#[test]
fn accept_edited_spec_continues_with_the_edit_and_records_it_in_the_manifest() {
    let results = tempfile::tempdir().unwrap();
    let (dir, _) = resumable_tiny(results.path());
    let old_sha = sha256(&dir.join("spec.toml"));
    edit_spec(&dir, "steps = 60\n", "steps = 30\n");
    let out = run(&[
        "resume",
        dir.to_str().unwrap(),
        "-q",
        "--accept-edited-spec",
    ]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("continuing with the edited"), "{err}");
    assert!(
        passed_over(&err, &checkpoint(&dir, 40), "with train.steps = 30"),
        "{err}"
    );
    let m = manifest(&dir);
    let new_sha = sha256(&dir.join("spec.toml"));
    assert_eq!(m["spec_sha256"], new_sha);
    let edits = m["accepted_spec_edits"].as_array().unwrap();
    assert_eq!(edits.len(), 1, "{m}");
    assert_eq!(edits[0]["previous_sha256"], old_sha);
    assert_eq!(edits[0]["sha256"], new_sha);
    assert!(edits[0]["at"].is_string());
    let steps: Vec<String> = read_csv(&dir.join("bn/metrics.csv"))
        .iter()
        .map(|r| r["step"].clone())
        .collect();
    assert_eq!(steps, ["20", "30"]);

    // The accepted spec is now the one checked against: a plain resume goes ahead.
    std::fs::remove_file(dir.join("bn/result.json")).unwrap();
    let out = resume(&dir);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// A checkpoint at a step that is not also evaluated (25 and 50, evaluations every 20) holds
/// batch norm's running statistics as of that step, so resuming from it reproduces the test
/// metrics after it (they were off in the last digits when the statistics' last update was
/// left out of the checkpoint).
#[test]
fn resuming_from_a_checkpoint_between_evaluations_is_byte_identical() {
    let results = tempfile::tempdir().unwrap();
    let dir = run_tiny(results.path(), &["train.checkpoint_every=25"]);
    assert!(checkpoint(&dir, 50).is_dir());
    let reference = Reference {
        metrics: std::fs::read(dir.join("bn/metrics.csv")).unwrap(),
        summary: summary_numbers(&dir),
    };
    for step in [50, 25] {
        std::fs::remove_file(dir.join("bn/result.json")).unwrap();
        let err = resume_matches(&dir, &reference);
        assert!(!err.contains("warning"), "{err}");
        // Next time from the older one.
        if step == 50 {
            std::fs::remove_dir_all(checkpoint(&dir, 50)).unwrap();
        }
    }
}
