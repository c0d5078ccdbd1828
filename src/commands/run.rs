//! `runner run`, `runner resume` and `runner run-cell` (one cell of a sweep).

use std::path::{Path, PathBuf};

use super::{finish, run_options};
use crate::cli::ExecArgs;
use crate::config::Override;
use crate::kinds;
use crate::run::progress;
use crate::run::session;
use crate::sweep::cell;

pub fn run(
    spec: &Path,
    sets: &[Override],
    results: PathBuf,
    exec: &ExecArgs,
) -> anyhow::Result<()> {
    let opts = run_options(exec, results)?;
    let loaded = kinds::load_file(spec, sets)?;
    for w in &loaded.warnings {
        progress::note(opts.mode, &format!("warning: {w}"));
    }
    finish(session::start(&loaded, &opts).map_err(busy_exit)?, true)
}

pub fn resume(run_dir: &Path, accept_edited_spec: bool, exec: &ExecArgs) -> anyhow::Result<()> {
    let mut opts = run_options(exec, PathBuf::new())?;
    opts.accept_edited_spec = accept_edited_spec;
    finish(session::resume(run_dir, &opts).map_err(busy_exit)?, true)
}

/// A run dir locked by another process ends the command with exit 75, as a held sweep cell does.
fn busy_exit(err: anyhow::Error) -> anyhow::Error {
    match err.downcast_ref::<session::Busy>() {
        Some(busy) => crate::error::Exit {
            code: cell::BUSY_EXIT,
            message: format!("error: {busy}"),
        }
        .into(),
        None => err,
    }
}

pub fn run_cell(sweep_dir: &Path, index: usize, mut exec: ExecArgs) -> anyhow::Result<()> {
    // Under Slurm, use the CPUs the task was given.
    if exec.threads.is_none() {
        exec.threads = std::env::var("SLURM_CPUS_PER_TASK")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|&n: &usize| n > 0);
    }
    let opts = run_options(&exec, PathBuf::new())?;
    match cell::run(sweep_dir, index, &opts).map_err(busy_exit)? {
        // The sweep judges the claims over all its cells.
        cell::Outcome::Ran(report) => finish(report, false),
        cell::Outcome::AlreadyDone(dir) => {
            println!("cell {index} had already finished: {}", dir.display());
            Ok(())
        }
        cell::Outcome::Busy => Err(crate::error::Exit {
            code: cell::BUSY_EXIT,
            message: format!(
                "cell {index} of {} is being run by another process; nothing to do",
                sweep_dir.display()
            ),
        }
        .into()),
    }
}
