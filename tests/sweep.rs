//! `runner sweep`, `run-cell` and `status` on this machine, with the real binary.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

/// Run dirs of every cell: `cells/NNNN/<name>/<stamp>/`.
fn cell_runs(sweep: &Path) -> Vec<Vec<PathBuf>> {
    let mut cells: Vec<PathBuf> = std::fs::read_dir(sweep.join("cells"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cells.sort();
    cells
        .iter()
        .map(|c| {
            let mut runs = Vec::new();
            for name in std::fs::read_dir(c).unwrap().flatten() {
                if name.path().is_dir() {
                    for stamp in std::fs::read_dir(name.path()).unwrap().flatten() {
                        runs.push(stamp.path());
                    }
                }
            }
            runs
        })
        .collect()
}

fn manifest(run: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(run.join("manifest.json")).unwrap()).unwrap()
}

/// Whether a run dir (possibly still being written) has finished.
fn finished(run: &Path) -> bool {
    std::fs::read(run.join("manifest.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .is_some_and(|m| m["finished"].is_string())
}

fn sweep_args<'a>(dir: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let spec = Box::leak(tiny_spec().display().to_string().into_boxed_str());
    let mut a = vec![
        "sweep",
        spec,
        "--grid",
        "train.lr=0.2,0.5",
        "--seeds",
        "2",
        "--dir",
        dir,
        "--set",
        "train.steps=40",
    ];
    a.extend_from_slice(extra);
    a
}

#[test]
fn a_sweep_runs_every_cell_once_and_reports_mean_and_std() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("sw");
    let d = dir.to_str().unwrap();
    let out = run(&sweep_args(d, &["--jobs", "2"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("4 cells (2 grid point(s) x 2 seed(s))"),
        "{err}"
    );
    assert!(err.contains("[4/4]"), "{err}");

    // The plan: stable order, first grid axis outermost, seeds innermost, from the spec's seed.
    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("plan.json")).unwrap()).unwrap();
    let cells = plan["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 4);
    let pts: Vec<(String, u64)> = cells
        .iter()
        .map(|c| {
            (
                c["point"].as_str().unwrap().to_string(),
                c["seed"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        pts,
        [
            ("train.lr=0.2".to_string(), 3),
            ("train.lr=0.2".to_string(), 4),
            ("train.lr=0.5".to_string(), 3),
            ("train.lr=0.5".to_string(), 4)
        ]
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("spec.toml")).unwrap(),
        std::fs::read_to_string(tiny_spec()).unwrap()
    );
    let runs = cell_runs(&dir);
    assert!(runs.iter().all(|r| r.len() == 1), "{runs:?}");
    for (i, r) in runs.iter().enumerate() {
        let resolved: toml::Table =
            toml::from_str(&std::fs::read_to_string(r[0].join("spec.toml")).unwrap()).unwrap();
        let v = &resolved["variant"].as_array().unwrap()[0];
        assert_eq!(v["seed"].as_integer(), Some(pts[i].1 as i64));
        assert_eq!(v["train"]["steps"].as_integer(), Some(40));
        assert_eq!(
            v["train"]["lr"].as_float(),
            Some(if i < 2 { 0.2 } else { 0.5 })
        );
        // Each worker got one of the two cores.
        assert_eq!(manifest(&r[0])["threads"], 1);
    }
    // Logs per cell, and the report with one table per grid point over 2 seeds.
    assert!(dir.join("logs/cell-0000.log").is_file());
    let md = std::fs::read_to_string(dir.join("report/report.md")).unwrap();
    assert!(
        md.contains("### train.lr=0.2") && md.contains("### train.lr=0.5"),
        "{md}"
    );
    assert!(md.contains("Mean ± std over 2 seed(s) (3, 4)."), "{md}");
    assert!(dir.join("report/plots/tiny-train.lr_0.2.svg").is_file());
    assert!(stdout(&out).contains("| baseline"), "{}", stdout(&out));

    // The same command again runs nothing.
    let again = run(&sweep_args(d, &["--jobs", "2"]));
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("4 of 4 cells already done; running the other 0"),
        "{}",
        stderr(&again)
    );
    assert_eq!(cell_runs(&dir), runs);
    assert_eq!(
        std::fs::read_to_string(dir.join("report/report.md")).unwrap(),
        md
    );

    // The spec's claims, checked per grid point.
    let check = run(&["report", d, "--check"]);
    assert_eq!(check.status.code(), Some(0), "{}", stdout(&check));
    assert!(
        stdout(&check).contains("4 PASS, 0 FAIL, 0 MISSING"),
        "{}",
        stdout(&check)
    );

    // Edited claims (or description) keep the sweep, and can be checked without re-running.
    let edited = t.path().join("tiny-edited.toml");
    std::fs::write(
        &edited,
        std::fs::read_to_string(tiny_spec())
            .unwrap()
            .replace("Smoke test:", "Smoke test (edited):")
            + "\n[[expect]]\nclaim = \"too few\"\nvariant = \"bn\"\nmetric = \"params\"\nat_most = 10\n",
    )
    .unwrap();
    let mut args = sweep_args(d, &["--jobs", "2"]);
    args[1] = edited.to_str().unwrap();
    let same = run(&args);
    assert!(same.status.success(), "{}", stderr(&same));
    assert!(stderr(&same).contains("continuing"), "{}", stderr(&same));
    assert!(
        stderr(&same).contains("4 of 4 cells already done"),
        "{}",
        stderr(&same)
    );
    assert!(
        stdout(&same).contains("4 PASS, 2 FAIL, 0 MISSING"),
        "{}",
        stdout(&same)
    );
    let check = run(&["report", d, "--check", "--claims", edited.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(3), "{}", stdout(&check));
    assert!(stdout(&check).contains("too few"), "{}", stdout(&check));
    // A changed setting is another sweep.
    let mut args = sweep_args(d, &["--plan-only", "--set", "train.batch_size=10"]);
    args[1] = edited.to_str().unwrap();
    let other = run(&args);
    assert_eq!(other.status.code(), Some(1), "{}", stderr(&other));

    // status: all done.
    let st = run(&["status", d]);
    assert!(st.status.success());
    assert!(
        stdout(&st).contains("4 cells: 4 done, 0 running, 0 queued, 0 failed, 0 missing"),
        "{}",
        stdout(&st)
    );
}

#[test]
fn a_killed_sweep_reruns_only_unfinished_cells_and_reports_identically() {
    let t = tempfile::tempdir().unwrap();
    // 4 cells long enough to kill mid-way; checkpoints every 100 steps.
    let extra = [
        "--jobs",
        "2",
        "--set",
        "train.steps=1500",
        "--set",
        "train.checkpoint_every=100",
        "--set",
        "eval.every=100",
        "--set",
        "model.dropout=0.1",
    ];
    let reference = t.path().join("reference");
    let r = reference.to_str().unwrap();
    let full = run(&sweep_args(r, &extra));
    assert!(full.status.success(), "{}", stderr(&full));

    let killed = t.path().join("killed");
    let k = killed.to_str().unwrap();
    let mut child = runner()
        .args(sweep_args(k, &extra))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill the sweep once one cell has finished and another has a checkpoint.
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut killed_mid_sweep = false;
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if killed.join("cells").is_dir() {
            let runs = cell_runs(&killed);
            let done = runs
                .iter()
                .filter(|r| r.iter().any(|d| finished(d)))
                .count();
            let checkpointed_unfinished = runs.iter().any(|r| {
                r.iter().any(|d| {
                    !finished(d)
                        && ["baseline", "bn"].iter().any(|v| {
                            std::fs::read_dir(d.join(v).join("checkpoints"))
                                .is_ok_and(|mut e| e.next().is_some())
                        })
                })
            });
            if done >= 1 && checkpointed_unfinished {
                child.kill().unwrap();
                killed_mid_sweep = true;
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait().unwrap();
    assert!(
        killed_mid_sweep,
        "the sweep ended before it could be killed"
    );
    // Its workers died with it: every cell lock is free.
    std::thread::sleep(Duration::from_millis(300));
    let before = cell_runs(&killed);
    let done_before: Vec<usize> = (0..before.len())
        .filter(|&i| before[i].iter().any(|d| finished(d)))
        .collect();
    assert!(
        !done_before.is_empty() && done_before.len() < 4,
        "{done_before:?}"
    );
    for c in std::fs::read_dir(killed.join("cells")).unwrap() {
        let lock = std::fs::File::open(c.unwrap().path().join("lock")).unwrap();
        lock.try_lock()
            .expect("no worker survives the killed sweep");
    }
    let st = run(&["status", k]);
    let st_text = stdout(&st);
    assert!(
        st_text.contains(&format!("{} done", done_before.len())),
        "{st_text}"
    );
    let finished_manifests: Vec<Vec<u8>> = done_before
        .iter()
        .map(|&i| std::fs::read(before[i][0].join("manifest.json")).unwrap())
        .collect();

    // The same command again: only the unfinished cells run, the interrupted ones resume.
    let again = run(&sweep_args(k, &extra));
    assert!(again.status.success(), "{}", stderr(&again));
    let err = stderr(&again);
    assert!(
        err.contains(&format!(
            "{} of 4 cells already done; running the other {}",
            done_before.len(),
            4 - done_before.len()
        )),
        "{err}"
    );
    for &i in &done_before {
        assert!(
            !err.contains(&format!("cell {i} (")),
            "cell {i} ran again: {err}"
        );
    }
    let after = cell_runs(&killed);
    for (i, &c) in done_before.iter().enumerate() {
        assert_eq!(after[c], before[c]);
        assert_eq!(
            std::fs::read(after[c][0].join("manifest.json")).unwrap(),
            finished_manifests[i],
            "a finished cell was touched"
        );
    }
    let resumed = after
        .iter()
        .flatten()
        .filter(|d| !manifest(d)["resumed"].as_array().unwrap().is_empty())
        .count();
    assert!(resumed >= 1, "no cell resumed from its checkpoints");
    eprintln!(
        "killed with cells {done_before:?} of 4 finished; the rerun ran the other {}, {resumed} \
         of them resumed from checkpoints",
        4 - done_before.len()
    );

    // The final report is byte-identical to the uninterrupted sweep's.
    for f in [
        "report/report.md",
        "report/report.csv",
        "report/claims.csv",
        "report/plots/tiny-train.lr_0.2.svg",
        "report/plots/tiny-train.lr_0.5.svg",
    ] {
        assert_eq!(
            std::fs::read(killed.join(f)).unwrap(),
            std::fs::read(reference.join(f)).unwrap(),
            "{f} differs"
        );
    }
}

#[test]
fn two_sweeps_at_once_never_share_a_run_dir() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("same");
    let d = dir.to_str().unwrap();
    let spawn = || {
        runner()
            .args(sweep_args(d, &["--jobs", "1", "-q"]))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success(), "{}", stderr(&a));
    assert!(b.status.success(), "{}", stderr(&b));
    // Every cell ran exactly once, into one run dir, never resumed by the other process.
    for runs in cell_runs(&dir) {
        assert_eq!(runs.len(), 1, "{runs:?}");
        assert!(manifest(&runs[0])["resumed"].as_array().unwrap().is_empty());
    }

    // A different plan never reuses a sweep dir.
    let other = run(&[
        "sweep",
        tiny_spec().to_str().unwrap(),
        "--grid",
        "train.lr=0.3",
        "--dir",
        d,
    ]);
    assert_eq!(other.status.code(), Some(1));
    assert!(
        stderr(&other).contains("holds a different sweep"),
        "{}",
        stderr(&other)
    );

    // Without --dir, each plan gets its own directory, and the same plan the same one.
    let res = t.path().join("res");
    let plan = |grid: &str| {
        let o = run(&[
            "sweep",
            tiny_spec().to_str().unwrap(),
            "--grid",
            grid,
            "--results",
            res.to_str().unwrap(),
            "--plan-only",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
            .lines()
            .find_map(|l| l.strip_prefix("plan: "))
            .unwrap()
            .to_string()
    };
    let (p1, p2, p3) = (
        plan("train.lr=0.1,0.2"),
        plan("train.lr=0.3"),
        plan("train.lr=0.1,0.2"),
    );
    assert_ne!(p1, p2);
    assert_eq!(p1, p3);
}

#[test]
fn status_and_run_cell_cover_missing_running_and_failed_cells() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("sw");
    let d = dir.to_str().unwrap();
    let planned = run(&sweep_args(d, &["--plan-only"]));
    assert!(planned.status.success(), "{}", stderr(&planned));
    let st = run(&["status", d]);
    assert!(
        stdout(&st).contains("4 cells: 0 done, 0 running, 0 queued, 0 failed, 4 missing"),
        "{}",
        stdout(&st)
    );
    assert!(stdout(&st).contains("--array=0-3"), "{}", stdout(&st));

    let one = run(&["run-cell", d, "1", "--threads", "1", "-q"]);
    assert!(one.status.success(), "{}", stderr(&one));
    let again = run(&["run-cell", d, "1", "-q"]);
    assert!(again.status.success());
    assert!(stdout(&again).contains("cell 1 had already finished"));

    // A cell held by another process: run-cell exits 75, status says running.
    let cell2 = dir.join("cells/0002");
    std::fs::create_dir_all(&cell2).unwrap();
    let lock = std::fs::File::create(cell2.join("lock")).unwrap();
    lock.lock().unwrap();
    let busy = run(&["run-cell", d, "2", "-q"]);
    assert_eq!(busy.status.code(), Some(75), "{}", stderr(&busy));
    // What its process says of its progress (as a run-cell's process writes it).
    std::fs::write(
        cell2.join("progress.json"),
        r#"{"variant":"baseline","position":1,"count":2,"step":300,"total":600,"steps_per_sec":512.0,"eta_seconds":0.6}"#,
    )
    .unwrap();
    // A cell whose last attempt failed.
    std::fs::create_dir_all(dir.join("cells/0003")).unwrap();
    std::fs::write(
        dir.join("cells/0003/state.json"),
        r#"{"state":"failed","host":"h","pid":1,"started":"x","error":"boom","attempts":1}"#,
    )
    .unwrap();
    let st = run(&["status", d]);
    let text = stdout(&st);
    assert!(
        text.contains("4 cells: 1 done, 1 running, 0 queued, 1 failed, 1 missing"),
        "{text}"
    );
    assert!(text.contains("--array=0,3"), "{text}");
    assert!(text.contains("attempt 1: boom"), "{text}");
    assert!(
        text.contains("| step 300/600, variant 1 of 2 (baseline), 512.0 steps/s, ETA 1s"),
        "{text}"
    );
    drop(lock);

    // An unfinished run in a cell, held by another process (a `runner resume` of it):
    // run-cell exits 75 naming the run dir and leaves the cell's state alone.
    let zero = run(&["run-cell", d, "0", "-q"]);
    assert!(zero.status.success(), "{}", stderr(&zero));
    let run0 = cell_runs(&dir).remove(0).remove(0);
    let mut m = manifest(&run0);
    m["finished"] = serde_json::Value::Null;
    std::fs::write(run0.join("manifest.json"), m.to_string()).unwrap();
    let state = std::fs::read(dir.join("cells/0000/state.json")).unwrap();
    let lock = std::fs::File::create(run0.join(".lock")).unwrap();
    lock.lock().unwrap();
    let busy = run(&["run-cell", d, "0", "-q"]);
    assert_eq!(busy.status.code(), Some(75), "{}", stderr(&busy));
    assert!(
        stderr(&busy).contains(&format!("run {} is in use", run0.display())),
        "{}",
        stderr(&busy)
    );
    assert_eq!(
        std::fs::read(dir.join("cells/0000/state.json")).unwrap(),
        state
    );
    drop(lock);
    let zero = run(&["run-cell", d, "0", "-q"]);
    assert!(zero.status.success(), "{}", stderr(&zero));
    assert!(finished(&run0));

    // Out of range, and not a sweep.
    let bad = run(&["run-cell", d, "9"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains("no cell 9: the sweep has 4 cells (0-3)"),
        "{}",
        stderr(&bad)
    );
    let bad = run(&["status", t.path().to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("is not a sweep directory"));
}

#[test]
fn slurm_flag_writes_a_job_array_script() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("sw");
    let d = dir.to_str().unwrap();
    let out = run(&sweep_args(
        d,
        &[
            "--jobs",
            "3",
            "--slurm",
            "--partition",
            "gpu",
            "--time",
            "0:30:00",
            "--cpus-per-task",
            "2",
            "--gpus",
            "1",
            "--sbatch=--account=abc",
        ],
    ));
    assert!(out.status.success(), "{}", stderr(&out));
    let script = std::fs::read_to_string(dir.join("sweep.sbatch")).unwrap();
    let abs = std::path::absolute(&dir).unwrap();
    for line in [
        "#SBATCH --array=0-3%3".to_string(),
        format!("#SBATCH --output={}/logs/slurm-%A_%a.out", abs.display()),
        "#SBATCH --cpus-per-task=2".into(),
        "#SBATCH --partition=gpu".into(),
        "#SBATCH --time=0:30:00".into(),
        "#SBATCH --gpus=1".into(),
        "#SBATCH --account=abc".into(),
        format!(
            "run-cell {} \"$SLURM_ARRAY_TASK_ID\" --threads \"${{SLURM_CPUS_PER_TASK:-2}}\"",
            abs.display()
        ),
    ] {
        assert!(script.contains(&line), "missing {line} in\n{script}");
    }
    assert!(
        stdout(&out).contains("submit it with: sbatch"),
        "{}",
        stdout(&out)
    );
    // Nothing ran.
    assert!(
        std::fs::read_dir(dir.join("cells"))
            .unwrap()
            .next()
            .is_none()
    );
}

#[test]
fn bad_grids_are_user_errors() {
    let spec = tiny_spec();
    let s = spec.to_str().unwrap();
    let cases: [(&[&str], &str); 4] = [
        (&["--grid", "train.lr"], "expected KEY=V1,V2"),
        (
            &["--grid", "train.lr=0.1,-1"],
            "in the grid point train.lr=-1",
        ),
        (&["--grid", "seed=1,2"], "use --seeds N"),
        (&["--seeds", "0"], "--seeds must be at least 1"),
    ];
    for (args, expected) in cases {
        let out = run(&[&["sweep", s, "--plan-only"][..], args].concat());
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(expected),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

/// A 2-cell sweep of the tiny spec (`train.lr` 0.2 and 0.5, one seed) of `steps` steps into
/// `dir`, as `runner sweep` arguments.
fn two_cells(dir: &str, steps: &str) -> Vec<String> {
    let steps = format!("train.steps={steps}");
    [
        "sweep",
        tiny_spec().to_str().unwrap(),
        "--grid",
        "train.lr=0.2,0.5",
        "--dir",
        dir,
        "--set",
        &steps,
        "--jobs",
        "2",
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn off_a_terminal_a_sweep_prints_its_plain_lines_and_each_cell_leaves_its_progress_file() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("sw");
    let out = runner()
        .args(two_cells(dir.to_str().unwrap(), "40"))
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    // Only the notes: no live lines, no terminal control codes.
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 4, "{err}");
    assert!(
        lines[0].starts_with("sweep ")
            && lines[0].ends_with("2 cells (2 grid point(s) x 1 seed(s))"),
        "{err}"
    );
    assert!(
        lines[1].starts_with("2 cells on 2 worker(s) x 1 thread(s); logs in "),
        "{err}"
    );
    for (i, line) in lines[2..].iter().enumerate() {
        assert!(line.starts_with(&format!("[{}/2] cell ", i + 1)), "{err}");
        assert!(line.contains(" seed=3) done in "), "{err}");
    }
    assert!(!err.contains('\x1b') && !err.contains("steps/s"), "{err}");
    // What each cell's process last said of itself: its last variant, at its last step.
    for cell in ["0000", "0001"] {
        let path = dir.join("cells").join(cell).join("progress.json");
        let p: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(p["variant"], "bn", "{p}");
        assert_eq!(
            (p["position"].as_u64(), p["count"].as_u64()),
            (Some(2), Some(2)),
            "{p}"
        );
        assert_eq!(
            (p["step"].as_u64(), p["total"].as_u64()),
            (Some(40), Some(40)),
            "{p}"
        );
        assert!(p["steps_per_sec"].as_f64().unwrap() > 0.0, "{p}");
    }
}

/// On a terminal (a pseudo-terminal from util-linux's `script`), each running cell has a live
/// line drawn from its progress file: the cell, its variant of how many, steps, steps/s, ETA.
#[test]
fn on_a_terminal_a_sweep_shows_a_live_line_per_running_cell() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("sw");
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let command: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_runner").to_string())
        .chain(two_cells(dir.to_str().unwrap(), "600"))
        .map(|a| quote(&a))
        .collect();
    let typescript = t.path().join("typescript");
    let out = std::process::Command::new("script")
        .arg("-qec")
        .arg(format!("{} >/dev/null", command.join(" ")))
        .arg(&typescript)
        .current_dir(repo())
        .stdin(Stdio::null())
        .output()
        .expect("util-linux's `script` runs the sweep on a pseudo-terminal");
    let screen = String::from_utf8_lossy(&std::fs::read(&typescript).unwrap()).into_owned();
    assert!(out.status.success(), "{}{screen}", stderr(&out));
    for cell in [
        "cell 0 (train.lr=0.2 seed=3) [",
        "cell 1 (train.lr=0.5 seed=3) [",
    ] {
        assert!(screen.contains(cell), "{screen}");
    }
    assert!(
        screen.contains("/600 steps | variant 1 of 2 (baseline), "),
        "{screen}"
    );
    assert!(
        screen.contains("/600 steps | variant 2 of 2 (bn), "),
        "{screen}"
    );
    assert!(screen.contains(" steps/s, ETA "), "{screen}");
    assert!(screen.contains("[2/2] cell "), "{screen}");
}
