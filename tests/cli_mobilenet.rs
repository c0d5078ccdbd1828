//! The `mobilenet_v2` kind on the real binary: `runner inspect` counts against the paper's
//! Table 4 and the reference implementation's family, spec errors in `[mobilenet]`, a tiny
//! end-to-end training run with seed groups, and count-only runs.

mod common;

use common::*;

/// Rows of a Markdown table (header first), cells trimmed.
fn markdown_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("|-") && !l.contains("---"))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

/// The last table of `text` as maps from column to cell.
fn last_table(text: &str) -> Vec<std::collections::HashMap<String, String>> {
    let block = text.rsplit("\n\n").next().unwrap_or(text);
    let rows = markdown_rows(block);
    let (head, body) = rows.split_first().expect("a table");
    body.iter()
        .map(|r| head.iter().cloned().zip(r.iter().cloned()).collect())
        .collect()
}

#[test]
fn inspect_gives_table4_counts_for_the_whole_family() {
    let out = run(&["inspect", "experiments/mobilenetv2_table4.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = last_table(&stdout(&out));
    assert_eq!(table.len(), 22);
    let row = |name: &str| {
        table
            .iter()
            .find(|r| r["variant"] == name)
            .unwrap_or_else(|| panic!("no row {name}"))
    };
    // Width 1.0 at 224x224x3, 1000 classes: the paper's 3.4M parameters and 300M MAdds.
    assert_eq!(row("w1.0-224")["params"], "3504872");
    assert_eq!(row("w1.0-224")["madds"], "300774272");
    assert_eq!(row("w1.4-224")["params"], "6108776");
    assert_eq!(row("w1.4-224")["madds"], "582195824");
    for r in &table {
        let madds: f64 = r["madds"].parse().unwrap();
        let params: f64 = r["params"].parse().unwrap();
        // The reference implementation's table gives MAdds in millions, truncated.
        let slim_madds: f64 = r["paper_slim_madds_m"].parse().unwrap();
        assert_eq!((madds / 1e6).floor(), slim_madds, "{}", r["variant"]);
        // Its parameter counts (no BN gamma, 1001 classes) are within 1.5% of ours.
        let slim_params: f64 = r["paper_slim_params_m"].parse().unwrap();
        let rel = (params / 1e6 - slim_params).abs() / slim_params;
        assert!(rel < 0.015, "{}: {params} vs {slim_params}M", r["variant"]);
    }
}

#[test]
fn inspect_prints_the_layer_table_of_a_chosen_variant() {
    let out = run(&[
        "inspect",
        "experiments/mobilenetv2_table4.toml",
        "--variant",
        "w1.0-224",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("w1.0-224: MobileNetV2, width 1.0, 224x224x3 input, 1000 classes"),
        "{text}"
    );
    let rows = markdown_rows(&text);
    let blocks: Vec<&Vec<String>> = rows.iter().filter(|r| r[0].starts_with("block")).collect();
    assert_eq!(blocks.len(), 17);
    // Table 2's second row: t = 6, 16 -> 24 channels, stride 2 from 112x112 to 56x56.
    assert_eq!(blocks[1][2..6], ["112x112x16", "6", "56x56x24", "2"]);
    assert_eq!(blocks[2][6], "bottleneck");
    assert_eq!(blocks[1][6], "");
    let total = rows.iter().find(|r| r[0] == "total").expect("a total row");
    assert_eq!(total[7..9], ["3504872", "300774272"]);

    let out = run(&[
        "inspect",
        "experiments/mobilenetv2_table4.toml",
        "--variant",
        "w1.0-22",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no variant `w1.0-22` (did you mean `w1.0-224`?)"),
        "{}",
        stderr(&out)
    );
    let out = run(&["inspect", tiny_spec().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("does not know kind `bn_ablation`"));
}

fn check_located(text: &str, sets: &[&str]) -> (Option<i32>, String) {
    let (code, err, _) = check_spec(text, sets);
    (code, err)
}

fn tiny_mobilenet() -> String {
    std::fs::read_to_string(repo().join("experiments/smoke/mobilenet_tiny.toml")).unwrap()
}

#[test]
fn mobilenet_spec_errors_are_located() {
    let (code, err) = check_located(
        &tiny_mobilenet().replace("width_multiplier = ", "width_multiplyer = "),
        &[],
    );
    assert_eq!(code, Some(1));
    assert!(
        err.starts_with(
            "error: SPEC:29:1: mobilenet.width_multiplyer: unknown key `width_multiplyer` \
             (did you mean `width_multiplier`?)"
        ),
        "{err}"
    );
    let (code, err) = check_located(
        &tiny_mobilenet(),
        &["variant.relu6-s1.mobilenet.residual=skip"],
    );
    assert_eq!(code, Some(1));
    assert_eq!(
        err,
        "error: --set variant.relu6-s1.mobilenet.residual=skip: mobilenet.residual: unknown \
         value `skip`; expected one of: bottleneck, expansion, none"
    );
    let (code, err) = check_located(
        &tiny_mobilenet().replace("[6, 32, 2, 2]]", "[6, 32, 0, 2]]"),
        &[],
    );
    assert_eq!(code, Some(1));
    assert_eq!(
        err,
        "error: SPEC:32:39: mobilenet.rows.2: every entry of a row [t, c, n, s] must be at \
         least 1, got [6, 32, 0, 2]"
    );
    let (code, err) = check_located(&tiny_mobilenet(), &["mobilenet.in_channels=3"]);
    assert_eq!(code, Some(1));
    assert_eq!(
        err,
        "error: --set mobilenet.in_channels=3: mobilenet.in_channels: mnist-10k images have 1 \
         channel(s); use 0 (the dataset's) or 1"
    );
    let (code, err) = check_located(&tiny_mobilenet(), &["train.batch_size=1"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("batch normalization needs a batch of at least 2"),
        "{err}"
    );
    // The section belongs to its kind.
    let (code, err) = check_located(
        &std::fs::read_to_string(tiny_spec()).unwrap(),
        &["mobilenet.width_multiplier=0.5"],
    );
    assert_eq!(code, Some(1));
    assert!(
        err.contains(
            "mobilenet: the [mobilenet] section is for kind `mobilenet_v2`, not `bn_ablation`"
        ),
        "{err}"
    );
}

#[test]
fn tiny_training_run_writes_summaries_and_seed_groups() {
    let results = tempfile::tempdir().unwrap();
    let spec = repo().join("experiments/smoke/mobilenet_tiny.toml");
    let out = run(&[
        "run",
        spec.to_str().unwrap(),
        "--results",
        results.path().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("Over seeds:"), "{}", stdout(&out));
    let dir = only_run_dir(results.path(), "mobilenet_tiny");
    let summary = read_csv(&dir.join("summary.csv"));
    let names: Vec<&str> = summary.iter().map(|r| r["variant"].as_str()).collect();
    assert_eq!(names, ["linear-s1", "linear-s2", "relu6-s1"]);
    let inspect = run(&["inspect", spec.to_str().unwrap()]);
    let counts = last_table(&stdout(&inspect));
    for (row, counted) in summary.iter().zip(&counts) {
        assert_eq!(row["status"], "done");
        assert_eq!(row["steps"], "12");
        // The trained model has exactly the parameters `inspect` counts.
        assert_eq!(row["params"], counted["params"]);
        assert_eq!(row["madds"], counted["madds"]);
        assert!(row["images_per_sec"].parse::<f64>().unwrap() > 0.0);
        let acc: f64 = row["final_test_accuracy"].parse().unwrap();
        assert!((0.0..=1.0).contains(&acc));
    }
    let metrics = read_csv(&dir.join("linear-s1/metrics.csv"));
    let steps: Vec<&str> = metrics.iter().map(|r| r["step"].as_str()).collect();
    assert_eq!(steps, ["6", "12"]);

    // Variants that differ only in their seed are summarized together.
    let seeds = read_csv(&dir.join("summary_seeds.csv"));
    assert_eq!(seeds.len(), 1, "{seeds:?}");
    assert_eq!(seeds[0]["variant"], "linear");
    assert_eq!(seeds[0]["runs"], "2");
    assert_eq!(seeds[0]["seeds"], "1 2");
    let a: f64 = summary[0]["final_test_accuracy"].parse().unwrap();
    let b: f64 = summary[1]["final_test_accuracy"].parse().unwrap();
    let mean: f64 = seeds[0]["final_test_accuracy_mean"].parse().unwrap();
    let std: f64 = seeds[0]["final_test_accuracy_std"].parse().unwrap();
    assert!((mean - (a + b) / 2.0).abs() < 1e-12);
    assert!((std - (a - b).abs() / 2f64.sqrt()).abs() < 1e-12);

    // Same spec, seed and threads: the same metrics, byte for byte (augmentation and dropout
    // are seeded per step).
    let again = tempfile::tempdir().unwrap();
    let out = run(&[
        "run",
        spec.to_str().unwrap(),
        "--results",
        again.path().to_str().unwrap(),
        "-q",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dir2 = only_run_dir(again.path(), "mobilenet_tiny");
    assert_eq!(
        std::fs::read(dir.join("linear-s1/metrics.csv")).unwrap(),
        std::fs::read(dir2.join("linear-s1/metrics.csv")).unwrap()
    );
}

#[test]
fn count_only_runs_train_nothing() {
    let results = tempfile::tempdir().unwrap();
    let out = run(&[
        "run",
        "experiments/mobilenetv2_table4.toml",
        "--results",
        results.path().to_str().unwrap(),
        "-q",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dir = only_run_dir(results.path(), "mobilenetv2_table4");
    let summary = read_csv(&dir.join("summary.csv"));
    assert_eq!(summary.len(), 22);
    assert_eq!(summary[0]["variant"], "w1.0-224");
    assert_eq!(summary[0]["steps"], "0");
    assert_eq!(summary[0]["params"], "3504872");
    assert_eq!(summary[0]["madds"], "300774272");
    assert_eq!(summary[0]["paper_params_m"], "3.4");
    assert_eq!(summary[0]["paper_madds_m"], "300");
}

/// mobilenet_tiny trains with TensorFlow's RMSProp and the reference's decay skips; the
/// optimizer's state (mean square from 1, momentum with the rate in it) is checkpointed, so a
/// variant resumed from its step-6 checkpoint writes the metrics of one that ran through (a
/// state lost on load would restart the mean square at 1 and change step 12).
#[test]
fn a_resumed_tensorflow_rmsprop_run_matches_the_uninterrupted_one() {
    let results = tempfile::tempdir().unwrap();
    let spec = repo().join("experiments/smoke/mobilenet_tiny.toml");
    let out = run(&[
        "run",
        spec.to_str().unwrap(),
        "-q",
        "--results",
        results.path().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dir = only_run_dir(results.path(), "mobilenet_tiny");
    let resolved = std::fs::read_to_string(dir.join("spec.toml")).unwrap();
    assert!(
        resolved.contains("rmsprop_style = \"tensorflow\""),
        "{resolved}"
    );
    let v = dir.join("linear-s1");
    let reference = std::fs::read_to_string(v.join("metrics.csv")).unwrap();
    // The last step is saved as the model, not as a checkpoint: step 6 is the one left.
    assert!(v.join("checkpoints/step-0000000006").is_dir());
    std::fs::remove_file(v.join("result.json")).unwrap();
    let out = run(&["resume", dir.to_str().unwrap(), "-q"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["resumed"].as_array().unwrap().len(), 1);
    assert_eq!(
        std::fs::read_to_string(v.join("metrics.csv")).unwrap(),
        reference
    );
}
