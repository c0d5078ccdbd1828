//! End-to-end runs of the real binary on the shipped data.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

#[test]
fn progress_lines_say_which_variant_its_rate_and_the_metrics_csv_values() {
    let results = tempfile::tempdir().unwrap();
    let out = runner()
        .env("RUNNER_LOG_INTERVAL", "0")
        .args(["run", tiny_spec().to_str().unwrap(), "--results"])
        .arg(results.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    let line = err
        .lines()
        .find(|l| l.starts_with("[bn] variant 2 of 2: step 60/60 (100%)"))
        .unwrap_or_else(|| panic!("no last progress line of bn in:\n{err}"));
    for part in [
        "steps/s",
        "s elapsed",
        "ETA",
        "test_accuracy ",
        "test_loss ",
        "train_loss ",
    ] {
        assert!(line.contains(part), "`{part}` missing from: {line}");
    }
    assert!(
        err.contains("[baseline] variant 1 of 2: step 1/60"),
        "{err}"
    );
    assert!(
        err.contains("[bn] done after") && err.contains("(variant 2 of 2)"),
        "{err}"
    );
}

#[test]
fn tiny_run_writes_a_complete_run_dir() {
    let results = tempfile::tempdir().unwrap();
    let out = run(&[
        "run",
        tiny_spec().to_str().unwrap(),
        "--results",
        results.path().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dir = only_run_dir(results.path(), "tiny");
    for f in [
        "spec.toml",
        "manifest.json",
        "summary.csv",
        "baseline/metrics.csv",
        "bn/metrics.csv",
    ] {
        assert!(dir.join(f).is_file(), "missing {f}");
    }
    // Not a terminal: plain progress lines, and the table on stdout.
    assert!(stdout(&out).contains("| variant"), "{}", stdout(&out));
    // The run ends with the spec's claims judged on it.
    assert!(
        stdout(&out).contains("Claims of the paper, on this run"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("PASS"), "{}", stdout(&out));
    assert!(stderr(&out).contains("[bn] done"), "{}", stderr(&out));

    // result.json is an object with typed values (`jq .final_test_accuracy` works).
    let result: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("bn/result.json")).unwrap()).unwrap();
    assert_eq!(result["variant"], "bn");
    assert_eq!(result["steps"], 60);
    assert!(
        result["final_test_accuracy"]
            .as_f64()
            .is_some_and(|a| a > 0.0 && a <= 1.0)
    );
    assert!(result["diverged_at_step"].is_null());

    let summary = read_csv(&dir.join("summary.csv"));
    assert_eq!(summary.len(), 2);
    assert_eq!(summary[0]["variant"], "baseline");
    assert_eq!(summary[1]["variant"], "bn");
    for row in &summary {
        assert_eq!(row["status"], "done");
        assert_eq!(row["steps"], "60");
        let acc: f64 = row["final_test_accuracy"].parse().unwrap();
        assert!((0.0..=1.0).contains(&acc));
    }
    // 784*32 + 32 + 32*32 + 32 + 32*10 + 10 weights without BN; BN drops hidden biases and adds
    // gamma and beta per hidden unit.
    assert_eq!(summary[0]["params"], "26506");
    assert_eq!(summary[1]["params"], (26506 - 64 + 128).to_string());

    let metrics = read_csv(&dir.join("bn/metrics.csv"));
    let steps: Vec<&str> = metrics.iter().map(|r| r["step"].as_str()).collect();
    assert_eq!(steps, ["20", "40", "60"]);
    for col in [
        "epoch",
        "lr",
        "train_loss",
        "test_accuracy",
        "probe_p15",
        "probe_p50",
        "probe_p85",
    ] {
        assert!(metrics[0].contains_key(col), "metrics.csv lacks {col}");
    }
    let p = |c: &str| metrics[2][c].parse::<f64>().unwrap();
    assert!(p("probe_p15") <= p("probe_p50") && p("probe_p50") <= p("probe_p85"));

    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["backend"], "flex");
    assert!(manifest["finished"].is_string());
    let datasets = manifest["datasets"].as_array().unwrap();
    assert_eq!(datasets.len(), 4, "{datasets:?}");
    assert!(datasets.iter().all(|d| d[1].as_str().unwrap().len() == 64));

    // The resolved spec is itself a valid spec.
    let check = run(&["check", dir.join("spec.toml").to_str().unwrap()]);
    assert!(check.status.success(), "{}", stderr(&check));
}

fn metrics_of(dir: &std::path::Path) -> Vec<Vec<u8>> {
    ["baseline", "bn"]
        .iter()
        .map(|v| std::fs::read(dir.join(v).join("metrics.csv")).unwrap())
        .collect()
}

#[test]
fn same_spec_seed_and_threads_give_identical_metrics() {
    let results = tempfile::tempdir().unwrap();
    let res = results.path().to_str().unwrap();
    let spec = tiny_spec();
    let args = [
        "run",
        spec.to_str().unwrap(),
        "--results",
        res,
        "-q",
        "--set",
        "model.dropout=0.3",
    ];
    let a = run(&args);
    let b = run(&args);
    assert!(a.status.success() && b.status.success(), "{}", stderr(&a));
    let mut dirs: Vec<_> = std::fs::read_dir(results.path().join("tiny"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    assert_eq!(dirs.len(), 2, "two runs, two run dirs");
    assert_eq!(metrics_of(&dirs[0]), metrics_of(&dirs[1]));

    // A different seed changes the numbers.
    let c = run(&[&args[..], &["--set", "seed=4"]].concat());
    assert!(c.status.success());
    let dir_c = std::fs::read_dir(results.path().join("tiny"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| !dirs.contains(p))
        .unwrap();
    assert_ne!(metrics_of(&dirs[0]), metrics_of(&dir_c));
}

#[test]
fn killed_run_resumes_to_the_same_metrics() {
    let results = tempfile::tempdir().unwrap();
    // Long enough to be killed mid-way, with dropout so the device RNG matters too.
    let sets = [
        "train.steps=4000",
        "train.checkpoint_every=300",
        "eval.every=100",
        "model.dropout=0.2",
    ];
    let reference = tempfile::tempdir().unwrap();
    let reference_dir = run_tiny(reference.path(), &sets);

    let dir = run_tiny_killed_in_bn(results.path(), &sets);
    assert!(!dir.join("bn/result.json").exists());
    // A second name for the killed run's metrics.csv: resume must put a new file in its place
    // (written beside it, then renamed), not truncate and rewrite this one, which a kill
    // during the rewrite would leave cut short.
    let metrics = dir.join("bn/metrics.csv");
    let before = std::fs::read(&metrics).unwrap();
    let old_name = results.path().join("bn-metrics-before-resume.csv");
    std::fs::hard_link(&metrics, &old_name).unwrap();

    let resumed = run(&["resume", dir.to_str().unwrap(), "-q"]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    assert_eq!(metrics_of(&dir), metrics_of(&reference_dir));
    assert_eq!(
        std::fs::read(&old_name).unwrap(),
        before,
        "resume rewrote metrics.csv in place"
    );
    let summary = read_csv(&dir.join("summary.csv"));
    let reference_summary = read_csv(&reference_dir.join("summary.csv"));
    for (a, b) in summary.iter().zip(&reference_summary) {
        assert_eq!(a["final_test_accuracy"], b["final_test_accuracy"]);
        assert_eq!(a["best_step"], b["best_step"]);
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["resumed"].as_array().unwrap().len(), 1);
}

#[test]
fn a_diverging_variant_is_marked_and_the_others_still_run() {
    let results = tempfile::tempdir().unwrap();
    let out = run(&[
        "run",
        tiny_spec().to_str().unwrap(),
        "-q",
        "--results",
        results.path().to_str().unwrap(),
        "--set",
        "variant.baseline.train.lr=1e30",
        "--set",
        "variant.baseline.model.activation=relu",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary = read_csv(&only_run_dir(results.path(), "tiny").join("summary.csv"));
    assert_eq!(summary[0]["status"], "diverged");
    assert!(!summary[0]["diverged_at_step"].is_empty());
    assert_eq!(summary[1]["status"], "done");
}

#[test]
fn a_missing_or_corrupt_dataset_is_a_clear_user_error() {
    let data = tempfile::tempdir().unwrap();
    let dst = data.path().join("mnist-10k");
    std::fs::create_dir(&dst).unwrap();
    for e in std::fs::read_dir(repo().join("data/mnist-10k")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dst.join(p.file_name().unwrap())).unwrap();
    }
    let victim = dst.join("t10k-labels-idx1-ubyte.gz");
    let bytes = std::fs::read(&victim).unwrap();
    std::fs::write(&victim, &bytes[..bytes.len() / 2]).unwrap();
    let results = tempfile::tempdir().unwrap();
    let out = run(&[
        "run",
        tiny_spec().to_str().unwrap(),
        "--data-dir",
        data.path().to_str().unwrap(),
        "--results",
        results.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("t10k-labels-idx1-ubyte.gz"),
        "{}",
        stderr(&out)
    );
    // Nothing was started, so no run dir was created.
    assert!(!results.path().join("tiny").exists());

    let out = runner()
        .args([
            "run",
            tiny_spec().to_str().unwrap(),
            "--set",
            "data.dataset=fashion-mnist",
        ])
        .env("RUNNER_DATA", data.path())
        .env("XDG_CACHE_HOME", data.path())
        .output()
        .unwrap();
    if !std::path::Path::new("/usr/share/datasets/fashion-mnist").exists() {
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("runner data fetch fashion-mnist"),
            "{}",
            stderr(&out)
        );
    }
}

/// A `--data-dir` or `$RUNNER_DATA` that is set is the only place datasets are read from: one
/// that does not exist or lacks the dataset's files is an error naming the folder and what is
/// missing, never a silent fall-back to the shipped copy.
#[test]
fn a_named_data_dir_without_the_dataset_is_an_error_not_a_fallback() {
    let t = tempfile::tempdir().unwrap();
    let results = t.path().join("results");
    let tiny = tiny_spec();
    let run_with = |data_dir: Option<&std::path::Path>, env: Option<&std::path::Path>| {
        let mut cmd = runner();
        cmd.args(["run", tiny.to_str().unwrap(), "-q", "--results"])
            .arg(&results);
        if let Some(d) = data_dir {
            cmd.arg("--data-dir").arg(d);
        }
        match env {
            Some(e) => cmd.env("RUNNER_DATA", e),
            None => cmd.env_remove("RUNNER_DATA"),
        };
        cmd.output().unwrap()
    };
    let first_line = |out: &std::process::Output| {
        assert_eq!(out.status.code(), Some(1), "{}", stderr(out));
        stderr(out).lines().next().unwrap_or_default().to_string()
    };

    let gone = t.path().join("gone");
    let out = run_with(Some(&gone), None);
    assert_eq!(
        first_line(&out),
        format!(
            "error: --data-dir {} does not exist (it was to hold dataset `mnist-10k` as {})",
            gone.display(),
            gone.join("mnist-10k").display()
        )
    );
    // `data verify` looks where `run` does: not at the shipped copy.
    let out = runner()
        .args(["data", "verify", "mnist-10k", "--data-dir"])
        .arg(&gone)
        .output()
        .unwrap();
    assert!(
        first_line(&out).starts_with(&format!(
            "error: --data-dir {} does not exist",
            gone.display()
        )),
        "{}",
        stderr(&out)
    );
    let out = runner()
        .args(["data", "verify", "--data-dir"])
        .arg(&gone)
        .output()
        .unwrap();
    assert!(
        first_line(&out).contains("does not exist"),
        "{}",
        stderr(&out)
    );

    let empty = t.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = run_with(Some(&empty), None);
    assert_eq!(
        first_line(&out),
        format!(
            "error: dataset `mnist-10k` is not in --data-dir {}: there is no folder {}",
            empty.display(),
            empty.join("mnist-10k").display()
        )
    );

    // $RUNNER_DATA with half the files; a complete --data-dir still comes first.
    let half = t.path().join("half");
    std::fs::create_dir_all(half.join("mnist-10k")).unwrap();
    for f in ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"] {
        std::fs::copy(
            repo().join("data/mnist-10k").join(f),
            half.join("mnist-10k").join(f),
        )
        .unwrap();
    }
    let out = run_with(None, Some(&half));
    assert_eq!(
        first_line(&out),
        format!(
            "error: dataset `mnist-10k` is incomplete in $RUNNER_DATA ({}): {} lacks \
             t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz",
            half.display(),
            half.join("mnist-10k").display()
        )
    );
    assert!(
        stderr(&out).contains("unset $RUNNER_DATA"),
        "{}",
        stderr(&out)
    );
    assert!(
        !results.exists(),
        "a refused run made {}",
        results.display()
    );

    let full = t.path().join("full");
    std::fs::create_dir(&full).unwrap();
    std::os::unix::fs::symlink(repo().join("data/mnist-10k"), full.join("mnist-10k")).unwrap();
    let out = run_with(Some(&full), Some(&half));
    assert!(out.status.success(), "{}", stderr(&out));
}

/// The registry's SHA-256s of mnist-10k's labels: as shipped (gzip), and decompressed.
const TRAIN_LABELS_GZ_SHA: &str =
    "f5a23f1ea5320c608986fa958004b9883beac01f3167e7327ce7129189464664";
const TRAIN_LABELS_RAW_SHA: &str =
    "0ea793304114f46e3e274025a8951eb637280e64277bde5ffa1fd9dda41697ae";

/// A copy of mnist-10k in `data/mnist-10k/`: the shipped files, except the training labels
/// decompressed and passed through `edit` (as `train-labels-idx1-ubyte`, or gzipped again
/// under the shipped name when `gzip`). Returns the labels file.
fn mnist_copy(data: &std::path::Path, gzip: bool, edit: impl Fn(&mut [u8])) -> std::path::PathBuf {
    use std::io::Write;
    let dir = data.join("mnist-10k");
    std::fs::create_dir_all(&dir).unwrap();
    let shipped = repo().join("data/mnist-10k");
    for f in [
        "train-images-idx3-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ] {
        std::fs::copy(shipped.join(f), dir.join(f)).unwrap();
    }
    let mut labels = gunzip_shipped("train-labels-idx1-ubyte.gz");
    edit(&mut labels[8..]);
    if gzip {
        let path = dir.join("train-labels-idx1-ubyte.gz");
        let mut enc = flate2::write::GzEncoder::new(
            std::fs::File::create(&path).unwrap(),
            flate2::Compression::default(),
        );
        enc.write_all(&labels).unwrap();
        enc.finish().unwrap();
        path
    } else {
        let path = dir.join("train-labels-idx1-ubyte");
        std::fs::write(&path, &labels).unwrap();
        path
    }
}

/// The decompressed bytes of shipped mnist-10k file `name`.
fn gunzip_shipped(name: &str) -> Vec<u8> {
    use std::io::Read;
    let file = std::fs::File::open(repo().join("data/mnist-10k").join(name)).unwrap();
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(file)
        .read_to_end(&mut bytes)
        .unwrap();
    bytes
}

fn shift_labels(labels: &mut [u8]) {
    labels.iter_mut().for_each(|l| *l = (*l + 1) % 10);
}

/// A copy of a known dataset that is not the published one (every label shifted, gzipped or
/// not) is refused at `run` naming the file and both SHA-256s, and `data verify` reports it:
/// before, such a copy trained to chance, and for a decompressed one `data verify` said
/// nothing was wrong.
#[test]
fn a_modified_copy_of_a_known_dataset_is_refused_and_verify_reports_it() {
    for gzip in [false, true] {
        let t = tempfile::tempdir().unwrap();
        let data = t.path().join("data");
        let labels = mnist_copy(&data, gzip, shift_labels);
        let actual = runner::util::hash::sha256_file(&labels).unwrap();
        let expected = if gzip {
            TRAIN_LABELS_GZ_SHA
        } else {
            TRAIN_LABELS_RAW_SHA
        };
        let results = t.path().join("results");
        let out = runner()
            .args(["run", tiny_spec().to_str().unwrap(), "-q", "--data-dir"])
            .arg(&data)
            .arg("--results")
            .arg(&results)
            .env("XDG_CACHE_HOME", t.path().join("cache"))
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.starts_with(&format!(
                "error: {} is not the published file of dataset `mnist-10k`: its SHA-256 is \
                 {actual}, expected {expected}.",
                labels.display()
            )),
            "{err}"
        );
        assert!(err.contains("Replace it with the original"), "{err}");
        assert!(
            !results.exists(),
            "a refused run made {}",
            results.display()
        );

        let out = runner()
            .args(["data", "verify", "mnist-10k", "--data-dir"])
            .arg(&data)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let text = stdout(&out);
        assert!(
            text.contains(&format!(
                "{actual}  {}  MISMATCH (expected {expected})",
                labels.display()
            )),
            "{text}"
        );
        assert!(
            stderr(&out).contains("checksum mismatch in: mnist-10k"),
            "{}",
            stderr(&out)
        );
    }

    // Unchanged but decompressed: mnist-10k's decompressed checksums are known, so this copy
    // trains and verifies.
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    mnist_copy(&data, false, |_| {});
    let out = runner()
        .args(["run", tiny_spec().to_str().unwrap(), "-q", "--data-dir"])
        .arg(&data)
        .arg("--results")
        .arg(t.path().join("results"))
        .env("XDG_CACHE_HOME", t.path().join("cache"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let out = runner()
        .args(["data", "verify", "mnist-10k", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains(&format!("{TRAIN_LABELS_RAW_SHA}  ")));

    // Decompressed files of a dataset whose decompressed checksums are not known: well-formed
    // IDX, but unverifiable, and `data verify` does not call that ok.
    let mnist = data.join("mnist");
    std::fs::create_dir(&mnist).unwrap();
    for f in [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ] {
        std::fs::write(mnist.join(f.trim_end_matches(".gz")), gunzip_shipped(f)).unwrap();
    }
    let out = runner()
        .args(["data", "verify", "mnist", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(
        text.matches("NOT VERIFIED (decompressed copy").count(),
        4,
        "{text}"
    );
    assert!(
        stderr(&out).contains("not verified: mnist"),
        "{}",
        stderr(&out)
    );
}

/// SHA-256s checked at load are remembered in `$XDG_CACHE_HOME/runner/checksums.tsv`, keyed by
/// the file's path, size and times: a second load of unchanged files hashes nothing (the
/// cache has nothing new to record, so it is not rewritten), and an edit that keeps the size
/// and restores the modification time is still caught.
#[test]
fn checked_checksums_are_cached_and_an_edit_still_misses_the_cache() {
    let t = tempfile::tempdir().unwrap();
    let cache = t.path().join("cache");
    let cache_file = cache.join("runner/checksums.tsv");
    let run_tiny = |data: Option<&std::path::Path>| {
        let mut cmd = runner();
        cmd.args(["run", tiny_spec().to_str().unwrap(), "-q", "--results"])
            .arg(t.path().join("results"))
            .env("XDG_CACHE_HOME", &cache)
            .env_remove("RUNNER_DATA");
        if let Some(d) = data {
            cmd.arg("--data-dir").arg(d);
        }
        cmd.output().unwrap()
    };

    // The shipped copy: all four files remembered, with the published SHA-256s.
    let out = run_tiny(None);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&cache_file).unwrap();
    let shipped = repo().join("data/mnist-10k").canonicalize().unwrap();
    for (f, sha) in [
        ("train-labels-idx1-ubyte.gz", TRAIN_LABELS_GZ_SHA),
        (
            "t10k-images-idx3-ubyte.gz",
            "987993b147bc9f1fc237468543c7bb9aff284d92499b5b2b78d8cac02059f6e5",
        ),
    ] {
        let line = text
            .lines()
            .find(|l| l.ends_with(&format!("\t{}", shipped.join(f).display())))
            .unwrap_or_else(|| panic!("no entry for {f} in\n{text}"));
        assert!(line.starts_with(&format!("{sha}\t")), "{line}");
    }
    assert_eq!(text.lines().count(), 4, "{text}");
    use std::os::unix::fs::MetadataExt;
    let inode = std::fs::metadata(&cache_file).unwrap().ino();
    let out = run_tiny(None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::metadata(&cache_file).unwrap().ino(), inode);
    assert_eq!(std::fs::read_to_string(&cache_file).unwrap(), text);

    // A good decompressed copy, remembered once it has settled (files changed in the last
    // second are never remembered).
    let data = t.path().join("data");
    let labels = mnist_copy(&data, false, |_| {});
    std::thread::sleep(Duration::from_millis(1100));
    let out = run_tiny(Some(&data));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&cache_file).unwrap();
    let canonical = labels.canonicalize().unwrap();
    assert!(
        text.lines().any(|l| l.starts_with(TRAIN_LABELS_RAW_SHA)
            && l.ends_with(&canonical.display().to_string())),
        "{text}"
    );
    // Every label shifted in place: same size, modification time put back.
    let mtime = std::fs::metadata(&labels).unwrap().modified().unwrap();
    let mut bytes = std::fs::read(&labels).unwrap();
    shift_labels(&mut bytes[8..]);
    std::fs::write(&labels, &bytes).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&labels)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let out = run_tiny(Some(&data));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("{} is not the published file", labels.display())),
        "{}",
        stderr(&out)
    );

    // An unwritable cache only means hashing every time.
    std::fs::remove_dir_all(&cache).unwrap();
    std::fs::write(&cache, "a file, not a folder").unwrap();
    let out = run_tiny(None);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn list_shows_kinds_and_specs() {
    let out = run(&["list"]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("bn_ablation"));
    assert!(text.contains("experiments/bn.toml"), "{text}");
}

#[test]
fn list_shows_first_sentences_the_whole_text_with_long_and_works_from_anywhere() {
    let text = stdout(&run(&["list"]));
    let zhang = text
        .lines()
        .find(|l| l.contains("experiments/expressivity.toml"))
        .unwrap_or_else(|| panic!("{text}"));
    // "Zhang et al. 2017, ..." is not cut at "al.".
    assert!(zhang.contains("Zhang et al. 2017, Theorem 1"), "{zhang}");
    assert!(zhang.trim_end().ends_with('.'), "{zhang}");
    let long = stdout(&run(&["list", "--long"]));
    let zhang_long = long
        .lines()
        .find(|l| l.contains("experiments/expressivity.toml"))
        .unwrap();
    assert!(zhang_long.len() > zhang.len(), "{zhang_long}");

    let elsewhere = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_runner"))
        .arg("list")
        .current_dir(elsewhere.path())
        .output()
        .unwrap();
    assert!(
        stdout(&out).contains("experiments/bn.toml"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_spec_name_that_leaves_the_results_dir_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    std::fs::create_dir(&results).unwrap();
    let spec = tmp.path().join("spec.toml");
    // No variants: the name is the run's folder and the one variant's.
    let lone = std::fs::read_to_string(tiny_spec())
        .unwrap()
        .split("[[variant]]")
        .next()
        .unwrap()
        .replace("name = \"tiny\"", "name = \"../escaped\"");
    std::fs::write(&spec, &lone).unwrap();
    let res = results.to_str().unwrap();
    let out = run(&["run", spec.to_str().unwrap(), "-q", "--results", res]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("name `../escaped` must be"),
        "{}",
        stderr(&out)
    );

    std::fs::write(&spec, lone.replace("../escaped", "lone")).unwrap();
    let out = run(&[
        "run",
        spec.to_str().unwrap(),
        "-q",
        "--results",
        res,
        "--set",
        "name=../../escaped",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--set name=../../escaped: name"),
        "{}",
        stderr(&out)
    );
    // Nothing was written anywhere: not beside the results dir, not in it.
    let mut left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    left.sort();
    assert_eq!(left, ["results", "spec.toml"]);
    assert_eq!(std::fs::read_dir(&results).unwrap().count(), 0);
}

#[test]
fn resume_deletes_only_the_checkpoints_it_made() {
    let results = tempfile::tempdir().unwrap();
    let out = run(&[
        "run",
        tiny_spec().to_str().unwrap(),
        "-q",
        "--results",
        results.path().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dir = only_run_dir(results.path(), "tiny");
    let ck = dir.join("bn/checkpoints");
    let names = |d: &std::path::Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(&ck), ["step-0000000020", "step-0000000040"]);
    // Someone else's files among the checkpoints, some with names close to ours.
    let foreign = [
        "notes",
        "step-1",
        "step-0000000040.bak",
        ".tmp-other",
        "step-x",
    ];
    for f in foreign {
        std::fs::create_dir(ck.join(f)).unwrap();
        std::fs::write(ck.join(f).join("keep.txt"), "mine").unwrap();
    }
    std::fs::write(ck.join("README"), "mine").unwrap();
    // A stale temporary checkpoint (a save killed half-way) is ours to clean up.
    std::fs::create_dir(ck.join(".tmp-step-0000000060")).unwrap();

    // bn runs again from its step-20 checkpoint and saves step 40, which prunes the folder.
    std::fs::remove_file(dir.join("bn/result.json")).unwrap();
    std::fs::remove_dir_all(ck.join("step-0000000040")).unwrap();
    let out = run(&["resume", dir.to_str().unwrap(), "-q"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut expected: Vec<String> = foreign.iter().map(|s| s.to_string()).collect();
    expected.extend([
        "README".into(),
        "step-0000000020".into(),
        "step-0000000040".into(),
    ]);
    expected.sort();
    assert_eq!(names(&ck), expected);
    for f in foreign {
        assert_eq!(
            std::fs::read_to_string(ck.join(f).join("keep.txt")).unwrap(),
            "mine"
        );
    }
}

/// A child runner whose stderr is read line by line (and drained in the background once the
/// wanted line has come, so the child never blocks on a full pipe).
fn spawn_until(args: &[&str], want: &str) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = runner()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let line = lines
        .by_ref()
        .map(|l| l.unwrap())
        .find(|l| l.contains(want))
        .unwrap_or_else(|| panic!("{args:?} never printed {want:?}"));
    std::thread::spawn(move || lines.for_each(drop));
    (child, line)
}

fn signal(child: &std::process::Child, sig: libc::c_int) {
    // SAFETY: kill(2) on a child of this process that has not been waited for.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, sig) }, 0);
}

/// A second `runner resume` of a run dir in use is refused with exit 75 naming the dir,
/// touching nothing, and the process that holds it finishes a complete run. Each holder is
/// stopped (SIGSTOP keeps its lock) while the second process tries, so nothing depends on timing.
#[test]
fn a_run_dir_in_use_is_refused_with_exit_75() {
    let results = tempfile::tempdir().unwrap();
    let spec = tiny_spec();
    let sets = [
        "--set",
        "train.steps=2000",
        "--set",
        "eval.every=100",
        "--set",
        "train.checkpoint_every=200",
    ];
    let refused = |dir: &std::path::Path| {
        let out = run(&["resume", dir.to_str().unwrap(), "-q"]);
        assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&format!(
                "run {} is in use by another runner process",
                dir.display()
            )),
            "{err}"
        );
        assert!(!err.contains("internal error"), "{err}");
    };

    // `run` holds its new dir from the start.
    let run_args = [
        &["run", spec.to_str().unwrap(), "--results"][..],
        &[results.path().to_str().unwrap()],
        &sets,
    ]
    .concat();
    let (mut first, line) = spawn_until(&run_args, "run directory: ");
    let dir = std::path::PathBuf::from(line.split_once("run directory: ").unwrap().1);
    signal(&first, libc::SIGSTOP);
    refused(&dir);
    // Let it make some progress, then crash it (the kernel drops its lock).
    signal(&first, libc::SIGCONT);
    let deadline = Instant::now() + Duration::from_secs(120);
    while !dir.join("baseline/checkpoints").is_dir()
        || std::fs::read_dir(dir.join("baseline/checkpoints"))
            .unwrap()
            .count()
            == 0
    {
        assert!(
            Instant::now() < deadline,
            "no checkpoint in {}",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(
        !dir.join("bn/result.json").exists(),
        "finished before the kill"
    );

    // Two resumes at once: the second is refused and leaves the run to the first.
    let (mut resuming, _) = spawn_until(&["resume", dir.to_str().unwrap()], "resuming ");
    signal(&resuming, libc::SIGSTOP);
    refused(&dir);
    signal(&resuming, libc::SIGCONT);
    assert!(resuming.wait().unwrap().success());

    for variant in ["baseline", "bn"] {
        let steps: Vec<u64> = read_csv(&dir.join(variant).join("metrics.csv"))
            .iter()
            .map(|r| r["step"].parse().unwrap())
            .collect();
        let want: Vec<u64> = (1..=20).map(|i| i * 100).collect();
        assert_eq!(steps, want, "{variant}/metrics.csv");
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert!(manifest["finished"].is_string());
    // The refused resumes left no trace in the manifest.
    assert_eq!(manifest["resumed"].as_array().unwrap().len(), 1);
    assert_eq!(read_csv(&dir.join("summary.csv")).len(), 2);
}
