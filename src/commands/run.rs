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
    finish(session::start(&loaded, &opts)?, true)
}

pub fn resume(run_dir: &Path, exec: &ExecArgs) -> anyhow::Result<()> {
    let opts = run_options(exec, PathBuf::new())?;
    finish(session::resume(run_dir, &opts)?, true)
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
    match cell::run(sweep_dir, index, &opts)? {
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
