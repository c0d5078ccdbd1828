//! Saved models (`<variant>/model/final`, `model/best`), `runner eval` and `runner export`, on
//! the real binary.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::prelude::*;
use burn::store::ModuleSnapshot;
use common::*;
use runner::train::saved_model::{SavedModel, SavedNet, Which};

/// `name -> (shape, values)` of a model's tensors.
type Tensors = BTreeMap<String, (Vec<usize>, Vec<f32>)>;

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn eval(args: &[&str]) -> std::process::Output {
    run(&[&["eval"][..], args].concat())
}

/// The last row of a variant's metrics.csv.
fn last_metrics(dir: &Path, variant: &str) -> std::collections::HashMap<String, String> {
    read_csv(&dir.join(variant).join("metrics.csv"))
        .pop()
        .unwrap()
}

#[test]
fn final_and_best_are_saved_and_eval_reproduces_the_runs_test_scores() {
    let results = tempfile::tempdir().unwrap();
    let dir = run_tiny(results.path(), &[]);
    let summary = read_csv(&dir.join("summary.csv"));
    for row in &summary {
        let v = row["variant"].as_str();
        let model = dir.join(v).join("model");
        let fin = json(&model.join("final/saved.json"));
        assert_eq!(fin["step"], 60, "{v}");
        assert_eq!(fin["monitor"], "test_accuracy");
        let best = json(&model.join("best/saved.json"));
        assert_eq!(best["step"].to_string(), row["best_step"], "{v}");
        assert_eq!(best["value"].to_string(), row["best_test_accuracy"], "{v}");
        let seal = json(&model.join("final/files.json"));
        for f in ["model.bpk", "architecture.json", "saved.json"] {
            assert!(seal["files"][f].is_string(), "{v}: {f} not sealed");
        }

        // `final` on the run's own test set gives the run's own last evaluation, to the bit.
        let out = eval(&[dir.to_str().unwrap(), "--variant", v]);
        assert!(out.status.success(), "{}", stderr(&out));
        let scores = read_csv(&dir.join(v).join("eval/final-mnist-10k.csv"))
            .pop()
            .unwrap();
        let last = last_metrics(&dir, v);
        assert_eq!(scores["accuracy"], last["test_accuracy"], "{v}");
        assert_eq!(scores["loss"], last["test_loss"], "{v}");
        assert_eq!(scores["examples"], "500");
        assert!(stdout(&out).contains(&format!("accuracy {}", last["test_accuracy"])));
        let confusion = read_csv(&dir.join(v).join("eval/final-mnist-10k-confusion.csv"));
        assert_eq!(confusion.len(), 10);
        let (mut total, mut diagonal) = (0u64, 0u64);
        for (t, r) in confusion.iter().enumerate() {
            assert_eq!(r["true"], t.to_string());
            for p in 0..10 {
                let n: u64 = r[&format!("predicted_{p}")].parse().unwrap();
                total += n;
                diagonal += if p == t { n } else { 0 };
            }
        }
        assert_eq!(total, 500);
        assert_eq!((diagonal as f64 / 500.0).to_string(), last["test_accuracy"]);

        // `best` scores what the run recorded at its best step.
        let out = eval(&[
            dir.to_str().unwrap(),
            "--variant",
            v,
            "--checkpoint",
            "best",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let scores = read_csv(&dir.join(v).join("eval/best-mnist-10k.csv"))
            .pop()
            .unwrap();
        assert_eq!(scores["accuracy"], row["best_test_accuracy"], "{v}");
        assert_eq!(scores["step"], row["best_step"]);
    }
    // A kept rotating checkpoint: the metrics.csv row of its step.
    let out = eval(&[
        dir.to_str().unwrap(),
        "--variant",
        "bn",
        "--checkpoint",
        "40",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let scores = read_csv(&dir.join("bn/eval/step-40-mnist-10k.csv"))
        .pop()
        .unwrap();
    let at40 = read_csv(&dir.join("bn/metrics.csv"))
        .into_iter()
        .find(|r| r["step"] == "40")
        .unwrap();
    assert_eq!(scores["accuracy"], at40["test_accuracy"]);
    // Rotation never deletes the saved models, and the eval files do not touch the run's CSVs.
    let before = std::fs::read(dir.join("summary.csv")).unwrap();
    assert!(dir.join("bn/model/final/model.bpk").exists());
    assert_eq!(std::fs::read(dir.join("summary.csv")).unwrap(), before);
}

#[test]
fn eval_on_a_corruption_or_another_dataset_and_what_it_refuses() {
    let results = tempfile::tempdir().unwrap();
    let dir = run_tiny(results.path(), &[]);
    let d = dir.to_str().unwrap();
    let out = eval(&[
        d,
        "--variant",
        "bn",
        "--set",
        "corruption.images=gaussian",
        "--set",
        "data.test_limit=200",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let scores = read_csv(&dir.join("bn/eval/final-mnist-10k-gaussian-test200.csv"))
        .pop()
        .unwrap();
    assert_eq!(scores["examples"], "200");
    assert_eq!(scores["images"], "gaussian");
    let accuracy: f64 = scores["accuracy"].parse().unwrap();
    assert!(
        accuracy < 0.5,
        "Gaussian noise images classified at {accuracy}"
    );

    let refused = [
        (
            vec!["--variant", "bn", "--set", "data.dataset=cifar10"],
            "--set data.dataset=cifar10: its images are 3x32x32 with 10 classes; the model of \
             variant `bn` takes 1x28x28 images and 10 classes",
        ),
        (
            vec!["--variant", "bn", "--set", "data.datset=mnist"],
            "`runner eval` does not take `data.datset` (did you mean `data.dataset`?)",
        ),
        (
            vec!["--variant", "bn", "--set", "corruption.images=blurred"],
            "corruption.images: must be one of: none, shuffled_pixels, random_pixels, gaussian",
        ),
        (
            vec![],
            "has 2 variants: name one with --variant (baseline, bn)",
        ),
        (
            vec!["--variant", "basline"],
            "no variant `basline` (did you mean `baseline`?); variants: baseline, bn",
        ),
        (
            vec!["--variant", "bn", "--checkpoint", "30"],
            "has no checkpoint of step 30; kept: 20, 40",
        ),
        (
            vec!["--variant", "bn", "--checkpoint", "last"],
            "expected final, best or the step of a kept checkpoint",
        ),
    ];
    for (args, expected) in refused {
        let out = eval(&[&[d][..], &args].concat());
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&out).contains(expected),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    let out = eval(&["/nonexistent-run", "--variant", "bn"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is not a run directory (no spec.toml)"));
}

/// Rewrites `file` of a saved model and its files.json entry to match: a forged model.
fn forge(model: &Path, file: &str, bytes: &[u8]) {
    std::fs::write(model.join(file), bytes).unwrap();
    let seal_path = model.join("files.json");
    let mut seal = json(&seal_path);
    let sha = runner::util::hash::sha256_bytes(bytes);
    seal["files"][file] = sha.into();
    std::fs::write(&seal_path, serde_json::to_vec(&seal).unwrap()).unwrap();
}

#[test]
fn a_damaged_or_forged_saved_model_is_refused() {
    let results = tempfile::tempdir().unwrap();
    let dir = run_tiny(results.path(), &[]);
    let d = dir.to_str().unwrap();
    let refused = |what: &str, expected: &str| {
        for cmd in ["eval", "export"] {
            let out_dir = results.path().join("export");
            let out = run(&[
                cmd,
                d,
                "--variant",
                "baseline",
                "--out",
                out_dir.to_str().unwrap(),
            ][..if cmd == "eval" { 4 } else { 6 }]);
            assert_eq!(
                out.status.code(),
                Some(1),
                "{what}, {cmd}: {}",
                stderr(&out)
            );
            assert!(
                stderr(&out).contains(expected),
                "{what}, {cmd}: {}",
                stderr(&out)
            );
        }
    };
    let model = dir.join("baseline/model/final");
    let record = model.join("model.bpk");
    let original = std::fs::read(&record).unwrap();
    let mut damaged = original.clone();
    let mid = damaged.len() / 2;
    damaged[mid] ^= 0x40;
    std::fs::write(&record, &damaged).unwrap();
    refused("a flipped byte", "model.bpk does not match the SHA-256");
    std::fs::write(&record, &original).unwrap();

    // A network far larger than its record (an architecture that would allocate gigabytes).
    let arch_path = model.join("architecture.json");
    let arch_text = std::fs::read(&arch_path).unwrap();
    let mut arch = json(&arch_path);
    arch["net"]["mlp"]["hidden"] = serde_json::json!([1_000_000, 1_000_000]);
    forge(
        &model,
        "architecture.json",
        &serde_json::to_vec(&arch).unwrap(),
    );
    refused("a huge net", "is not one its model.bpk");
    // An input that is not its dataset's.
    let mut arch: serde_json::Value = serde_json::from_slice(&arch_text).unwrap();
    arch["input"] = serde_json::json!([3, 28, 28]);
    forge(
        &model,
        "architecture.json",
        &serde_json::to_vec(&arch).unwrap(),
    );
    refused("another input", "does not fit its dataset mnist-10k");
    forge(&model, "architecture.json", &arch_text);

    // files.json naming a path outside the folder.
    let seal_path = model.join("files.json");
    let seal_text = std::fs::read(&seal_path).unwrap();
    let mut seal = json(&seal_path);
    seal["files"]["../../spec.toml"] = "00".into();
    std::fs::write(&seal_path, serde_json::to_vec(&seal).unwrap()).unwrap();
    refused(
        "a path in files.json",
        "its files.json lists `../../spec.toml`: refusing",
    );
    std::fs::write(&seal_path, &seal_text).unwrap();

    std::fs::remove_dir_all(&model).unwrap();
    refused("no final", "has not finished training");
}

/// `(name, shape, f32 values)` of every tensor of a safetensors file, read with the
/// `safetensors` crate.
fn read_safetensors(path: &Path) -> Tensors {
    let bytes = std::fs::read(path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    st.tensors()
        .into_iter()
        .map(|(name, view)| {
            assert_eq!(view.dtype(), safetensors::Dtype::F32, "{name}");
            let values = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect();
            (name, (view.shape().to_vec(), values))
        })
        .collect()
}

/// The same, of the model burn loads from a saved model's record.
fn model_tensors(variant_dir: &Path, which: &Which) -> Tensors {
    let saved = SavedModel::open(variant_dir, which).unwrap();
    let SavedNet::Mlp(mlp) = saved.load(&Device::flex()).unwrap() else {
        panic!("the tiny spec trains an MLP")
    };
    mlp.collect(None, None, false)
        .into_iter()
        .map(|t| {
            let values = t
                .to_bytes()
                .unwrap()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect();
            (t.name.clone(), (t.shape.iter().copied().collect(), values))
        })
        .collect()
}

fn export(dir: &Path, variant: &str, which: &str, out: &Path) {
    let o = run(&[
        "export",
        dir.to_str().unwrap(),
        "--variant",
        variant,
        "--checkpoint",
        which,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn export_writes_safetensors_named_by_layer_with_the_models_values() {
    let results = tempfile::tempdir().unwrap();
    let dir = run_tiny(results.path(), &[]);
    let out = results.path().join("exported");
    export(&dir, "bn", "best", &out);
    for f in ["model.safetensors", "model.bpk", "architecture.json"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    assert_eq!(
        std::fs::read(out.join("architecture.json")).unwrap(),
        std::fs::read(dir.join("bn/model/best/architecture.json")).unwrap()
    );
    let file = read_safetensors(&out.join("model.safetensors"));
    let shapes: Vec<(&str, Vec<usize>)> = file
        .iter()
        .map(|(n, (s, _))| (n.as_str(), s.clone()))
        .collect();
    // 784-32-32-10 with BN: linear weights are burn's [in, out]; BN replaces hidden biases.
    let expected: Vec<(&str, Vec<usize>)> = vec![
        ("hidden.0.weight", vec![784, 32]),
        ("hidden.1.weight", vec![32, 32]),
        ("norms.0.beta", vec![32]),
        ("norms.0.gamma", vec![32]),
        ("norms.0.running_mean", vec![32]),
        ("norms.0.running_var", vec![32]),
        ("norms.1.beta", vec![32]),
        ("norms.1.gamma", vec![32]),
        ("norms.1.running_mean", vec![32]),
        ("norms.1.running_var", vec![32]),
        ("output.bias", vec![10]),
        ("output.weight", vec![32, 10]),
    ];
    assert_eq!(shapes, expected);
    assert_eq!(file, model_tensors(&dir.join("bn"), &Which::Best));
    // Trained, not the init: BN's running variance has moved off 1.
    assert!(file["norms.0.running_var"].1.iter().any(|v| *v != 1.0));
    let st_bytes = std::fs::read(out.join("model.safetensors")).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&st_bytes).unwrap();
    let meta = meta.metadata().clone().unwrap();
    assert_eq!(meta["variant"], "bn");
    assert_eq!(meta["checkpoint"], "best");
    let arch: serde_json::Value = serde_json::from_str(&meta["architecture"]).unwrap();
    assert_eq!(arch["net"]["mlp"]["hidden"], serde_json::json!([32, 32]));
}

/// The variants' saved models as safetensors tensors and their saved.json, for comparing runs.
fn saved_models(dir: &Path, scratch: &Path) -> Vec<(serde_json::Value, Tensors)> {
    let mut all = Vec::new();
    for v in ["baseline", "bn"] {
        for which in ["final", "best"] {
            let out: PathBuf = scratch.join(format!("{v}-{which}"));
            export(dir, v, which, &out);
            all.push((
                json(&dir.join(v).join("model").join(which).join("saved.json")),
                read_safetensors(&out.join("model.safetensors")),
            ));
        }
    }
    all
}

#[test]
fn kill_then_resume_saves_the_same_final_and_best() {
    let sets = [
        "train.steps=1500",
        "train.checkpoint_every=150",
        "eval.every=50",
        "model.dropout=0.2",
    ];
    let reference = tempfile::tempdir().unwrap();
    let reference_dir = run_tiny(reference.path(), &sets);
    let reference_metrics = std::fs::read(reference_dir.join("bn/metrics.csv")).unwrap();

    let results = tempfile::tempdir().unwrap();
    // Killed once the BN variant has a best model and a checkpoint.
    let dir = run_tiny_killed_in_bn(results.path(), &sets);
    assert!(!dir.join("bn/model/final").exists());
    let resumed = run(&["resume", dir.to_str().unwrap(), "-q"]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    assert_eq!(
        std::fs::read(dir.join("bn/metrics.csv")).unwrap(),
        reference_metrics
    );

    let scratch = tempfile::tempdir().unwrap();
    let a = saved_models(&dir, &scratch.path().join("resumed"));
    let b = saved_models(&reference_dir, &scratch.path().join("reference"));
    assert_eq!(a, b);
}

/// The other kinds' models: convolutional nets on corrupted and whitened images (random_labels)
/// and MobileNetV2 on resized ones; `final` gives each run's last evaluation to the bit.
#[test]
fn eval_reproduces_the_last_evaluation_of_every_kind_that_saves_a_model() {
    for (spec, variants) in [
        (
            "random_labels_tiny",
            &["gaussian", "shuffled-pixels", "alexnet-crop"][..],
        ),
        ("mobilenet_tiny", &["linear-s1"][..]),
        ("ssl_reweight_tiny", &["learned-s1"][..]),
    ] {
        let results = tempfile::tempdir().unwrap();
        let path = repo().join(format!("experiments/smoke/{spec}.toml"));
        let out = run(&[
            "run",
            path.to_str().unwrap(),
            "-q",
            "--results",
            results.path().to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{spec}: {}", stderr(&out));
        let dir = only_run_dir(results.path(), spec);
        for v in variants {
            let out = eval(&[dir.to_str().unwrap(), "--variant", v]);
            assert!(out.status.success(), "{spec} {v}: {}", stderr(&out));
            let name = std::fs::read_dir(dir.join(v).join("eval"))
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .find(|n| !n.ends_with("-confusion.csv"))
                .unwrap();
            let scores = read_csv(&dir.join(v).join("eval").join(name))
                .pop()
                .unwrap();
            let last = last_metrics(&dir, v);
            assert_eq!(scores["accuracy"], last["test_accuracy"], "{spec} {v}");
            assert_eq!(scores["loss"], last["test_loss"], "{spec} {v}");
        }
    }
    // expressivity constructs its net without the training loop: there is no model to save.
    let results = tempfile::tempdir().unwrap();
    let path = repo().join("experiments/smoke/expressivity_tiny.toml");
    let out = run(&["run", path.to_str().unwrap(), "-q", "--results"]
        .iter()
        .copied()
        .chain([results.path().to_str().unwrap()])
        .collect::<Vec<_>>());
    assert!(out.status.success(), "{}", stderr(&out));
    let dir = only_run_dir(results.path(), "expressivity_tiny");
    let out = eval(&[dir.to_str().unwrap(), "--variant", "true-labels"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("its kind saves no model"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn best_follows_train_monitor_and_its_mode() {
    let results = tempfile::tempdir().unwrap();
    let dir = run_tiny(
        results.path(),
        &["train.monitor=test_loss", "train.monitor_mode=min"],
    );
    let rows = read_csv(&dir.join("baseline/metrics.csv"));
    let lowest = rows
        .iter()
        .min_by(|a, b| {
            let v = |r: &std::collections::HashMap<String, String>| -> f64 {
                r["test_loss"].parse().unwrap()
            };
            v(a).total_cmp(&v(b))
        })
        .unwrap();
    let best = json(&dir.join("baseline/model/best/saved.json"));
    assert_eq!(best["monitor"], "test_loss");
    assert_eq!(best["mode"], "min");
    assert_eq!(best["step"].to_string(), lowest["step"]);
    assert_eq!(best["value"].to_string(), lowest["test_loss"]);

    let out = run(&[
        "run",
        tiny_spec().to_str().unwrap(),
        "-q",
        "--results",
        results.path().to_str().unwrap(),
        "--set",
        "train.monitor=test_acc",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(
            "train.monitor: `test_acc` is not a metrics.csv column of this kind (did you mean \
             `test_accuracy`?)"
        ),
        "{}",
        stderr(&out)
    );
}
