//! Helpers for tests that drive the real `runner` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn tiny_spec() -> PathBuf {
    repo().join("experiments/smoke/tiny.toml")
}

pub fn runner() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_runner"));
    cmd.current_dir(repo());
    cmd
}

/// Runs the binary with `args`, returning its output.
pub fn run(args: &[&str]) -> Output {
    runner().args(args).output().expect("runner starts")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Runs the tiny smoke spec quietly into `results` with each of `sets` as a `--set`, asserts
/// that it succeeded, and returns its run directory.
pub fn run_tiny(results: &Path, sets: &[&str]) -> PathBuf {
    let mut cmd = runner();
    cmd.args(["run", tiny_spec().to_str().unwrap(), "-q", "--results"])
        .arg(results);
    for s in sets {
        cmd.args(["--set", s]);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    only_run_dir(results, "tiny")
}

/// Starts the tiny smoke spec into `results` with each of `sets` as a `--set` and kills it
/// (SIGKILL) once its BN variant (the second) has a checkpoint and before it finishes: mid-run,
/// with work to keep. Returns the killed run's directory.
pub fn run_tiny_killed_in_bn(results: &Path, sets: &[&str]) -> PathBuf {
    let mut cmd = runner();
    cmd.args(["run", tiny_spec().to_str().unwrap(), "-q", "--results"])
        .arg(results);
    for s in sets {
        cmd.args(["--set", s]);
    }
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let killed_mid_run = loop {
        let dirs: Vec<_> = std::fs::read_dir(results.join("tiny"))
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        if let Some(dir) = dirs.first() {
            let ck = dir.join("bn/checkpoints");
            if ck.is_dir() && std::fs::read_dir(&ck).unwrap().count() > 0 {
                child.kill().unwrap();
                break !dir.join("bn/result.json").exists();
            }
        }
        if child.try_wait().unwrap().is_some() || Instant::now() > deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    child.wait().unwrap();
    assert!(killed_mid_run, "the run finished before it could be killed");
    only_run_dir(results, "tiny")
}

/// The one run directory under `results/<spec>/`.
pub fn only_run_dir(results: &Path, spec: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(results.join(spec))
        .expect("spec results dir")
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dirs.len(), 1, "expected one run dir, found {dirs:?}");
    dirs.pop().unwrap()
}

/// Rows of a CSV file as maps from column to value.
pub fn read_csv(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers
                .iter()
                .map(String::from)
                .zip(rec.iter().map(String::from))
                .collect()
        })
        .collect()
}

/// `(exit code, stderr, stdout)` of `runner check` on a spec with `text`, with `--set`s; the
/// spec's temporary path reads `SPEC` in stderr.
pub fn check_spec(text: &str, sets: &[&str]) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.toml");
    std::fs::write(&path, text).unwrap();
    let mut args = vec!["check".to_string(), path.display().to_string()];
    for s in sets {
        args.push("--set".into());
        args.push(s.to_string());
    }
    let out = runner().args(&args).output().unwrap();
    let err = stderr(&out).replace(&path.display().to_string(), "SPEC");
    (out.status.code(), err.trim().to_string(), stdout(&out))
}
