//! A broken environment (a results dir that is a file, a damaged metrics.csv, a `checkpoints`
//! that is a file, a metrics.csv cut short by a kill) is the user's error: exit 1, the cause
//! and the path on the first line, no Rust debug text; a last metrics row cut short by a kill
//! is written again on resume.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;

/// A finished tiny run under `results`, returned with bn's `result.json` removed: resuming
/// it runs bn again from its step-40 checkpoint.
fn resumable_tiny(results: &Path) -> PathBuf {
    let dir = run_tiny(results, &[]);
    std::fs::remove_file(dir.join("bn/result.json")).unwrap();
    dir
}

fn resume(dir: &Path) -> Output {
    run(&["resume", dir.to_str().unwrap(), "-q"])
}

/// Exit 1 with one `error:` line that names `path` and holds `cause`, and nothing of Rust's
/// debug formatting or anyhow's multi-line report.
fn assert_user_error(out: &Output, path: &Path, cause: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let first = err.lines().next().unwrap_or_default();
    assert!(first.starts_with("error: "), "{err}");
    assert!(first.contains(&path.display().to_string()), "{err}");
    assert!(
        first.contains(cause),
        "`{cause}` not on the first line: {err}"
    );
    for debug in [
        "internal error",
        "Caused by",
        "backtrace",
        "Io(",
        "Os {",
        " { ",
        "kind:",
    ] {
        assert!(!err.contains(debug), "`{debug}` in: {err}");
    }
}

#[test]
fn a_results_dir_that_is_a_file_or_lies_under_one_is_a_user_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("results");
    std::fs::write(&file, "not a folder").unwrap();
    for results in [file.clone(), file.join("deeper")] {
        let out = run(&[
            "run",
            tiny_spec().to_str().unwrap(),
            "-q",
            "--results",
            results.to_str().unwrap(),
        ]);
        assert_user_error(&out, &results.join("tiny"), "Not a directory");
    }
}

#[test]
fn a_read_only_results_dir_is_a_user_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    std::fs::create_dir(&results).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&results, std::fs::Permissions::from_mode(0o555)).unwrap();
    // Root writes into read-only folders; then the OS refuses nothing and there is no error
    // to check, so the test asserts only where a write really fails.
    let writable = std::fs::create_dir(results.join("probe")).is_ok();
    let out = run(&[
        "run",
        tiny_spec().to_str().unwrap(),
        "-q",
        "--results",
        results.to_str().unwrap(),
    ]);
    std::fs::set_permissions(&results, std::fs::Permissions::from_mode(0o755)).unwrap();
    if !writable {
        assert_user_error(&out, &results.join("tiny"), "Permission denied");
    } else {
        assert!(out.status.success(), "{}", stderr(&out));
    }
}

#[test]
fn a_garbage_row_in_metrics_csv_is_a_user_error_naming_the_file_and_line() {
    let results = tempfile::tempdir().unwrap();
    let dir = resumable_tiny(results.path());
    let metrics = dir.join("bn/metrics.csv");
    let text = std::fs::read_to_string(&metrics).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // Rows as wide as the header, so that only the named field is wrong.
    let width = lines[0].split(',').count();
    let row = |first: &str, third: &str| {
        let mut fields = vec![first, "0.4", third];
        fields.resize(width, "1");
        fields.join(",")
    };
    let (bad_number, bad_step) = (row("20", "x"), row("-20", "0.5"));
    let wrong_width = format!("line 2 has 2 fields where the header has {width}");
    for (garbage, cause) in [
        ("garbage,row", wrong_width.as_str()),
        (bad_number.as_str(), "line 2: `x` is not a number"),
        (
            bad_step.as_str(),
            "line 2: step `-20` is not a whole number",
        ),
    ] {
        let mut edited = lines.clone();
        edited[1] = garbage;
        std::fs::write(&metrics, edited.join("\n") + "\n").unwrap();
        assert_user_error(&resume(&dir), &metrics, cause);
    }
}

#[test]
fn a_checkpoints_file_where_the_folder_belongs_is_a_user_error_naming_it() {
    let results = tempfile::tempdir().unwrap();
    let dir = resumable_tiny(results.path());
    let ck = dir.join("bn/checkpoints");
    std::fs::remove_dir_all(&ck).unwrap();
    std::fs::write(&ck, "x").unwrap();
    assert_user_error(&resume(&dir), &ck, "is not a directory");
}

/// A finished variant's result.json no longer matching its finished.json seal is named, and
/// the variant trained again (deterministic), rather than read or trusted.
#[test]
fn a_corrupt_result_json_is_named_and_its_variant_trained_again() {
    let results = tempfile::tempdir().unwrap();
    let dir = resumable_tiny(results.path());
    let result = dir.join("baseline/result.json");
    std::fs::write(&result, "{").unwrap();
    let out = resume(&dir);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&result.display().to_string()),
        "{}",
        stderr(&out)
    );
    assert!(serde_json::from_slice::<serde_json::Value>(&std::fs::read(&result).unwrap()).is_ok());
}

/// A kill while a row was appended leaves the last line without its newline; the row is past
/// the newest checkpoint (rows are written before the checkpoint of their step), so resume
/// leaves it out, says so, writes it again and ends byte-identical to the uninterrupted run.
#[test]
fn a_last_metrics_row_cut_short_by_a_kill_is_dropped_and_written_again_byte_identically() {
    let results = tempfile::tempdir().unwrap();
    let dir = resumable_tiny(results.path());
    let metrics = dir.join("bn/metrics.csv");
    let reference = std::fs::read(&metrics).unwrap();
    let last_line = reference[..reference.len() - 1]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap()
        + 1;
    assert!(reference[last_line..].starts_with(b"60,"));
    // Cut in the step, after it, and just before the newline.
    for cut in [last_line + 1, last_line + 3, reference.len() - 1] {
        std::fs::write(&metrics, &reference[..cut]).unwrap();
        let _ = std::fs::remove_file(dir.join("bn/result.json"));
        let out = resume(&dir);
        assert!(out.status.success(), "cut at {cut}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("its last line") && stderr(&out).contains("cut short"),
            "{}",
            stderr(&out)
        );
        assert_eq!(std::fs::read(&metrics).unwrap(), reference, "cut at {cut}");
    }
}

/// `data verify` says in words what it found, not `NoReference { note: ... }`.
#[test]
fn data_verify_prints_each_status_in_words() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("mnist-10k");
    std::fs::create_dir(&dir).unwrap();
    for e in std::fs::read_dir(repo().join("data/mnist-10k")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
    }
    // Decompressed: checked against the decompressed file's SHA-256.
    let gz = dir.join("train-images-idx3-ubyte.gz");
    let mut raw = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(&gz).unwrap()),
        &mut raw,
    )
    .unwrap();
    std::fs::write(dir.join("train-images-idx3-ubyte"), raw).unwrap();
    std::fs::remove_file(&gz).unwrap();
    let out = run(&[
        "data",
        "verify",
        "mnist-10k",
        "--data-dir",
        data.path().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("  ok"), "{text}");
    // mnist-10k's registry entry has the SHA-256s of its decompressed files too.
    assert!(text.contains("train-images-idx3-ubyte  ok"), "{text}");
    assert!(
        !text.contains('{') && !text.contains("NoReference"),
        "{text}"
    );
}
