//! Running one cell of a sweep (`runner run-cell SWEEP INDEX`): under a lock on the cell, so
//! two processes never run it at once; skipped when a finished run exists; resumed from its
//! checkpoints when an unfinished one does; otherwise started into `cells/NNNN/`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Plan, cell_dir, load_cell};
use crate::run::manifest::{self, Manifest};
use crate::run::session::{self, RunOptions, RunReport};
use crate::util::fs::FileLock;

/// Exit status of `run-cell` when another process holds the cell (EX_TEMPFAIL).
pub const BUSY_EXIT: u8 = 75;

/// `cells/NNNN/state.json`: the last attempt at a cell, for `runner status`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct State {
    /// `running`, `done` or `failed`.
    pub state: String,
    pub host: String,
    pub pid: u32,
    /// `SLURM_ARRAY_JOB_ID_SLURM_ARRAY_TASK_ID` (or `SLURM_JOB_ID`) under Slurm.
    #[serde(default)]
    pub slurm_job: Option<String>,
    pub started: String,
    #[serde(default)]
    pub ended: Option<String>,
    /// The run dir, relative to the cell dir.
    #[serde(default)]
    pub run_dir: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    /// Attempts so far, this one included.
    #[serde(default)]
    pub attempts: u32,
}

impl State {
    pub fn read(cell: &Path) -> Option<State> {
        serde_json::from_slice(&std::fs::read(cell.join("state.json")).ok()?).ok()
    }

    fn write(&self, cell: &Path) -> anyhow::Result<()> {
        crate::util::fs::write_atomic(&cell.join("state.json"), &serde_json::to_vec_pretty(self)?)
    }
}

pub enum Outcome {
    /// The cell ran (started or resumed) to the end.
    Ran(RunReport),
    /// A finished run was already there.
    AlreadyDone(PathBuf),
    /// Another process holds the cell's lock.
    Busy,
}

/// Takes the cell's lock, retrying briefly (a `status` probe holds it for a moment);
/// `None` when another process is running the cell.
pub fn lock(cell: &Path) -> anyhow::Result<Option<FileLock>> {
    std::fs::create_dir_all(cell)
        .map_err(|e| crate::user_error!("cannot create {}: {e}", cell.display()))?;
    crate::util::fs::try_lock(&cell.join("lock"), Duration::from_secs(1))
}

/// Whether some process holds the cell's lock right now (probes without waiting).
pub fn is_locked(cell: &Path) -> bool {
    crate::util::fs::is_locked(&cell.join("lock"))
}

/// Run dirs under a cell (`<name>/<timestamp>/` holding a manifest), oldest first.
pub fn run_dirs(cell: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(names) = std::fs::read_dir(cell) else {
        return out;
    };
    for name in names.flatten() {
        let Ok(stamps) = std::fs::read_dir(name.path()) else {
            continue;
        };
        for stamp in stamps.flatten() {
            let p = stamp.path();
            if p.join("manifest.json").is_file() && p.join("spec.toml").is_file() {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The cell's finished run, if any.
pub fn finished_run(cell: &Path) -> Option<PathBuf> {
    run_dirs(cell)
        .into_iter()
        .rev()
        .find(|d| Manifest::read(d).is_ok_and(|m| m.finished.is_some()))
}

/// Runs cell `index` of the sweep in `sweep` (see the module docs).
pub fn run(sweep: &Path, index: usize, opts: &RunOptions) -> anyhow::Result<Outcome> {
    let plan = Plan::read(sweep)?;
    let cell = plan.cell(index)?.clone();
    let dir = cell_dir(sweep, &plan, index);
    let Some(_lock) = lock(&dir)? else {
        return Ok(Outcome::Busy);
    };
    if let Some(done) = finished_run(&dir) {
        return Ok(Outcome::AlreadyDone(done));
    }
    let previous = State::read(&dir);
    let mut state = State {
        state: "running".into(),
        host: hostname(),
        pid: std::process::id(),
        slurm_job: slurm_job(),
        started: manifest::now(),
        attempts: previous.map(|s| s.attempts).unwrap_or(0) + 1,
        ..Default::default()
    };
    // The run's own lock, taken before the cell's state changes: a `runner resume` of the
    // cell's run dir may hold it.
    let resumable = run_dirs(&dir).into_iter().next_back();
    let run_lock = resumable.as_deref().map(session::lock).transpose()?;
    state.write(&dir)?;
    // Started into the cell dir, resumed where it is; either way with its progress file, which
    // the sweep's process shows live.
    let cell_opts = RunOptions {
        results: dir.clone(),
        data: opts.data.clone(),
        device: opts.device.clone(),
        mode: opts.mode,
        accept_edited_spec: false,
        progress_file: Some(progress_path(&dir)),
    };
    let result = match &run_lock {
        Some(run_lock) => session::resume_locked(run_lock, &cell_opts),
        None => load_cell(sweep, &cell).and_then(|loaded| session::start(&loaded, &cell_opts)),
    };
    state.ended = Some(manifest::now());
    match result {
        Ok(report) => {
            state.state = "done".into();
            state.run_dir = report
                .dir
                .strip_prefix(&dir)
                .ok()
                .map(|p| p.display().to_string());
            state.write(&dir)?;
            Ok(Outcome::Ran(report))
        }
        Err(e) => {
            state.state = "failed".into();
            state.error = Some(format!("{e:#}"));
            state.write(&dir)?;
            Err(e)
        }
    }
}

/// Where the cell in `cell` keeps its [`progress_file`] while it runs.
///
/// [`progress_file`]: crate::run::progress_file
pub fn progress_path(cell: &Path) -> PathBuf {
    cell.join(crate::run::progress_file::FILE)
}

pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

fn slurm_job() -> Option<String> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    match (var("SLURM_ARRAY_JOB_ID"), var("SLURM_ARRAY_TASK_ID")) {
        (Some(job), Some(task)) => Some(format!("{job}_{task}")),
        _ => var("SLURM_JOB_ID"),
    }
}
