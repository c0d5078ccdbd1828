//! The claims can fail: tiny runs of experiments/smoke/*claims*_tiny.toml and rcnn_tiny.toml pass their claims
//! as they are, and `runner report --check` exits 3 naming exactly the claims of the effect
//! that a `--set` breaks on purpose: BN switched off in the `bn` variant; the random-label
//! variant's labels left uncorrupted; the SSL weights frozen; MobileNetV2's expansion factor
//! halved; R-CNN's selective search cut to two boxes per canvas. Real binary, real data, seconds.

mod common;

use common::*;

/// Runs `spec` (under experiments/smoke/) with `sets` into a fresh results dir and returns the
/// exit status and stdout of `runner report --check` on it.
fn check_after_run(spec: &str, sets: &[&str]) -> (Option<i32>, String) {
    let results = tempfile::tempdir().unwrap();
    let path = repo().join("experiments/smoke").join(spec);
    let mut cmd = runner();
    cmd.args([
        "run",
        path.to_str().unwrap(),
        "-q",
        "--threads",
        "1",
        "--results",
    ])
    .arg(results.path());
    for s in sets {
        cmd.args(["--set", s]);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let name = spec.trim_end_matches(".toml");
    let out = run(&[
        "report",
        results.path().join(name).to_str().unwrap(),
        "--check",
    ]);
    (out.status.code(), stdout(&out))
}

/// The claims whose row reads `verdict`, in the spec's order.
fn claims_with(table: &str, verdict: &str) -> Vec<String> {
    table
        .lines()
        .filter(|l| l.contains(&format!("| {verdict} ")))
        .map(|l| l.split('|').nth(2).unwrap().trim().to_string())
        .collect()
}

fn assert_breaking_fails(spec: &str, broken: &[&str], failing: &[&str]) {
    let (code, table) = check_after_run(spec, &[]);
    assert_eq!(code, Some(0), "{spec} as it is:\n{table}");
    assert!(claims_with(&table, "FAIL").is_empty(), "{table}");
    assert!(
        claims_with(&table, "PASS").len() >= failing.len(),
        "{table}"
    );

    let (code, table) = check_after_run(spec, broken);
    assert_eq!(code, Some(3), "{spec} with {broken:?}:\n{table}");
    assert_eq!(claims_with(&table, "FAIL"), failing, "{table}");
    assert!(claims_with(&table, "MISSING").is_empty(), "{table}");
}

#[test]
fn bn_claims_fail_when_bn_is_switched_off() {
    assert_breaking_fails(
        "claims_bn_tiny.toml",
        &["variant.bn.model.batch_norm=false"],
        &[
            "Fig. 1a: BN trains faster: its test accuracy is 5 points above the baseline's early on (40 steps)",
            "Fig. 1b,c: the baseline's median sigmoid input drifts at least twice as much as BN's (averaged over 10 units)",
        ],
    );
}

#[test]
fn random_label_claims_fail_when_the_labels_are_not_corrupted() {
    assert_breaking_fails(
        "claims_tiny.toml",
        &["variant.random-labels.corruption.labels=0.0"],
        &[
            "Fig. 1a: random labels take at least 1.5x the steps of true labels to fit",
            "Table 1: trained on random labels, test accuracy is chance (10%, within 5 points)",
        ],
    );
}

#[test]
fn ssl_claims_fail_when_the_weights_are_frozen() {
    // A step size of 1e-9 leaves every weight at 1: wrong pseudo-labels keep the weight of
    // right ones, and the "learned" boundary is the uniform one.
    assert_breaking_fails(
        "ssl_reweight_claims_tiny.toml",
        &["ssl.weight_lr=1e-9"],
        &[
            "Toy: points with a wrong pseudo-label end with learned weights far below those of the rest",
            "Toy: the boundary learned with the weights is more accurate than with uniform weights",
        ],
    );
}

#[test]
fn mobilenet_claims_fail_when_the_expansion_factor_is_wrong() {
    // Table 2's rows with t = 3 instead of 6: the count claims must see the smaller network.
    assert_breaking_fails(
        "mobilenet_claims_tiny.toml",
        &[
            "mobilenet.rows=[[1,16,1,1],[3,24,2,2],[3,32,3,2],[3,64,4,2],[3,96,3,1],[3,160,3,2],[3,320,1,1]]",
        ],
        &[
            "Table 4: MobileNetV2 1.0 at 224 costs 300M multiply-adds (within 1%)",
            "Reference table: MobileNetV2 1.4 at 224 costs 582M multiply-adds (within 1%)",
        ],
    );
}

#[test]
fn rcnn_claims_fail_when_selective_search_proposes_too_little() {
    // Two proposals per canvas of 2-4 objects: most objects are never proposed, so recall
    // collapses and the detector cannot find them.
    assert_breaking_fails(
        "rcnn_tiny.toml",
        &["rcnn.selective_search.max_proposals=2"],
        &[
            "Selective search finds at least 70% of the test objects at IoU 0.5 (paper: 0.98 on VOC)",
            "The detector finds objects: mAP at least 10 (paper 58.5 on VOC)",
        ],
    );
}
