//! The manifest records the dataset files actually read: the place they were found in the
//! search order, the folder and every file as absolute paths (whatever the working directory
//! the binary ran from), and each file's SHA-256 with its check against the published one.

mod common;

use std::path::Path;

use common::*;

fn manifest(run: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(run.join("manifest.json")).unwrap()).unwrap()
}

/// The tiny spec run from working directory `cwd` with `args`, its run dir.
fn run_from(cwd: &Path, args: &[&str]) -> std::path::PathBuf {
    let out = runner()
        .current_dir(cwd)
        .args([
            "run",
            tiny_spec().to_str().unwrap(),
            "-q",
            "--results",
            "res",
        ])
        .args(args)
        .env_remove("RUNNER_DATA")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    only_run_dir(&cwd.join("res"), "tiny")
}

#[test]
fn a_run_with_data_dir_names_the_copy_it_read_from_any_working_directory() {
    let t = tempfile::tempdir().unwrap();
    let cwd = t.path().join("elsewhere");
    let copy = cwd.join("copy").join("mnist-10k");
    std::fs::create_dir_all(&copy).unwrap();
    for e in std::fs::read_dir(repo().join("data/mnist-10k")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, copy.join(p.file_name().unwrap())).unwrap();
    }
    // A relative --data-dir, from a directory that is no clone of the repository.
    let dir = run_from(&cwd, &["--data-dir", "copy"]);
    let m = manifest(&dir);
    let real = std::fs::canonicalize(&copy).unwrap();
    let data = m["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "{m}");
    let d = &data[0];
    assert_eq!(d["dataset"], "mnist-10k");
    assert_eq!(d["found_in"], "--data-dir");
    assert_eq!(d["dir"], real.display().to_string());
    let files = d["files"].as_array().unwrap();
    assert_eq!(files.len(), 4, "{d}");
    for f in files {
        let path = Path::new(f["path"].as_str().unwrap());
        assert!(path.is_absolute() && path.starts_with(&real), "{f}");
        assert_eq!(f["sha256_check"], "published", "{f}");
        assert_eq!(f["sha256"].as_str().unwrap().len(), 64);
    }
    // The flat list names the same files.
    let flat: Vec<&str> = m["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f[0].as_str().unwrap())
        .collect();
    let mut named: Vec<&str> = files.iter().map(|f| f["path"].as_str().unwrap()).collect();
    named.sort();
    assert_eq!(flat, named);

    // Without --data-dir the same binary reads the copy it ships with, and says so.
    std::fs::remove_dir_all(cwd.join("res")).unwrap();
    let dir = run_from(&cwd, &[]);
    let d = &manifest(&dir)["data"][0];
    assert_eq!(d["found_in"], "shipped", "{d}");
    let shipped = std::fs::canonicalize(repo().join("data/mnist-10k")).unwrap();
    assert_eq!(d["dir"], shipped.display().to_string());
}

/// A copy of the shipped mnist-10k under `root/mnist-10k`.
fn copy_mnist(root: &Path) -> std::path::PathBuf {
    let copy = root.join("mnist-10k");
    std::fs::create_dir_all(&copy).unwrap();
    for e in std::fs::read_dir(repo().join("data/mnist-10k")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, copy.join(p.file_name().unwrap())).unwrap();
    }
    copy
}

#[test]
fn resume_compares_the_data_by_its_bytes_not_by_where_it_lies() {
    let t = tempfile::tempdir().unwrap();
    let first = copy_mnist(&t.path().join("first"));
    let results = t.path().join("res");
    let dir = run_from(
        t.path(),
        &["--data-dir", t.path().join("first").to_str().unwrap()],
    );
    assert!(dir.starts_with(&results));
    let finished = std::fs::read(dir.join("bn/metrics.csv")).unwrap();
    let accuracies = |dir: &Path| -> Vec<String> {
        read_csv(&dir.join("summary.csv"))
            .iter()
            .map(|r| r["final_test_accuracy"].clone())
            .collect()
    };
    let summary = accuracies(&dir);
    // As if killed before bn finished; and the data moved (another clone, another machine).
    std::fs::remove_file(dir.join("bn/result.json")).unwrap();
    std::fs::rename(t.path().join("first"), t.path().join("moved")).unwrap();
    assert!(!first.exists());
    let resume = |data: &str| {
        runner()
            .args(["resume", dir.to_str().unwrap(), "-q", "--data-dir", data])
            .env_remove("RUNNER_DATA")
            .output()
            .unwrap()
    };
    let out = resume(t.path().join("moved").to_str().unwrap());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read(dir.join("bn/metrics.csv")).unwrap() == finished);
    assert_eq!(accuracies(&dir), summary);

    // Data with other bytes than the run started on is refused, naming the file, and
    // nothing is touched: here the manifest says the run started on another labels file.
    std::fs::remove_file(dir.join("bn/result.json")).unwrap();
    let mut m = manifest(&dir);
    let started = m["datasets"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|f| f[0].as_str().unwrap().contains("t10k-labels"))
        .unwrap();
    started[1] = "0".repeat(64).into();
    std::fs::write(dir.join("manifest.json"), m.to_string()).unwrap();
    let metrics_before = std::fs::read(dir.join("bn/metrics.csv")).unwrap();
    let out = resume(t.path().join("moved").to_str().unwrap());
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("dataset files differ"), "{err}");
    assert!(err.contains("t10k-labels-idx1-ubyte.gz"), "{err}");
    assert!(std::fs::read(dir.join("bn/metrics.csv")).unwrap() == metrics_before);
    assert!(!dir.join("bn/result.json").exists());
}
