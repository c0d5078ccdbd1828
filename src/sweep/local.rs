//! Running a sweep's cells on this machine with K worker processes: each cell is one
//! `runner run-cell SWEEP INDEX --threads T` child (the same command a Slurm task runs), its
//! output appended to `logs/cell-NNNN.log`. Children die with this process (Linux), so a
//! killed sweep leaves no workers behind; running the sweep again continues where it stopped.

use std::collections::VecDeque;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::Context;
use std::time::{Duration, Instant};

use super::cell::{self, BUSY_EXIT};
use super::live::CellLines;
use super::{Plan, cell_dir};
use crate::run::progress::Mode;

pub struct Options {
    pub jobs: usize,
    pub threads: usize,
    /// The runner binary the workers run.
    pub exe: PathBuf,
    /// Extra arguments for every `run-cell` (`--data-dir`, `--device`).
    pub extra: Vec<String>,
    pub mode: Mode,
}

#[derive(Debug, Default)]
pub struct Outcome {
    /// Cells that had finished before this sweep started.
    pub already_done: Vec<usize>,
    /// Cells this sweep ran to the end.
    pub ran: Vec<usize>,
    /// Cells finished by another process while this one waited.
    pub done_elsewhere: Vec<usize>,
    /// Cells whose worker failed: `(index, last lines of its log)`.
    pub failed: Vec<(usize, String)>,
}

struct Worker {
    index: usize,
    child: Child,
    started: Instant,
}

pub fn run(sweep: &Path, plan: &Plan, opts: &Options) -> anyhow::Result<Outcome> {
    let mut out = Outcome::default();
    let mut pending: VecDeque<usize> = VecDeque::new();
    for c in &plan.cells {
        if cell::finished_run(&cell_dir(sweep, plan, c.index)).is_some() {
            out.already_done.push(c.index);
        } else {
            pending.push_back(c.index);
        }
    }
    let total = plan.cells.len();
    let mut lines = CellLines::new(opts.mode);
    if !out.already_done.is_empty() {
        lines.note(&format!(
            "{} of {total} cells already done; running the other {}",
            out.already_done.len(),
            pending.len()
        ));
    }
    lines.note(&format!(
        "{} cells on {} worker(s) x {} thread(s); logs in {}",
        pending.len(),
        opts.jobs,
        opts.threads,
        sweep.join("logs").display()
    ));
    let mut workers: Vec<Worker> = Vec::new();
    // Cells another process holds: retried when they are free again.
    let mut elsewhere: Vec<usize> = Vec::new();
    let mut finished = out.already_done.len();
    loop {
        while workers.len() < opts.jobs {
            let Some(index) = pending.pop_front() else {
                break;
            };
            let dir = cell_dir(sweep, plan, index);
            if cell::is_locked(&dir) {
                elsewhere.push(index);
                continue;
            }
            // What an earlier attempt left is not this one's progress.
            let progress = cell::progress_path(&dir);
            let _ = std::fs::remove_file(&progress);
            workers.push(spawn(sweep, plan, index, opts)?);
            lines.start(index, &plan.label(&plan.cells[index]), &progress);
        }
        if workers.is_empty() && pending.is_empty() {
            if elsewhere.is_empty() {
                break;
            }
            // Wait for the other process; take a cell over if it stopped without finishing.
            std::thread::sleep(Duration::from_millis(500));
            let mut still = Vec::new();
            for index in elsewhere.drain(..) {
                let dir = cell_dir(sweep, plan, index);
                if cell::is_locked(&dir) {
                    still.push(index);
                } else if cell::finished_run(&dir).is_some() {
                    finished += 1;
                    out.done_elsewhere.push(index);
                    lines.note(&format!(
                        "[{finished}/{total}] cell {index} ({}) finished by another process",
                        plan.label(&plan.cells[index])
                    ));
                } else {
                    pending.push_back(index);
                }
            }
            elsewhere = still;
            continue;
        }
        std::thread::sleep(Duration::from_millis(100));
        lines.refresh();
        let mut i = 0;
        while i < workers.len() {
            let Some(status) = workers[i].child.try_wait()? else {
                i += 1;
                continue;
            };
            let w = workers.swap_remove(i);
            lines.end(w.index);
            let label = plan.label(&plan.cells[w.index]);
            let secs = w.started.elapsed().as_secs_f64();
            match status.code() {
                Some(0) => {
                    finished += 1;
                    out.ran.push(w.index);
                    lines.note(&format!(
                        "[{finished}/{total}] cell {} ({label}) done in {secs:.0}s",
                        w.index
                    ));
                }
                Some(c) if c == BUSY_EXIT as i32 => elsewhere.push(w.index),
                _ => {
                    let log = log_path(sweep, plan, w.index);
                    let tail = last_lines(&log, 3);
                    lines.note(&format!(
                        "cell {} ({label}) FAILED after {secs:.0}s ({status}); see {}:\n{tail}",
                        w.index,
                        log.display()
                    ));
                    out.failed.push((w.index, tail));
                }
            }
        }
    }
    out.ran.sort();
    out.failed.sort();
    Ok(out)
}

pub fn log_path(sweep: &Path, plan: &Plan, index: usize) -> PathBuf {
    sweep
        .join("logs")
        .join(format!("cell-{index:0width$}.log", width = plan.width()))
}

fn spawn(sweep: &Path, plan: &Plan, index: usize, opts: &Options) -> anyhow::Result<Worker> {
    let log_file = log_path(sweep, plan, index);
    crate::util::fs::create_dir_all(&sweep.join("logs"))?;
    let mut log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_file)
        .with_context(|| format!("opening {}", log_file.display()))?;
    writeln!(
        log,
        "== {} local worker: runner run-cell {} {index} --threads {}",
        crate::run::manifest::now(),
        sweep.display(),
        opts.threads
    )?;
    let mut cmd = same_binary(&opts.exe);
    cmd.arg("run-cell")
        .arg(sweep)
        .arg(index.to_string())
        .arg("--threads")
        .arg(opts.threads.to_string())
        .args(&opts.extra)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log));
    die_with_parent(&mut cmd);
    let child = cmd
        .spawn()
        .map_err(|e| anyhow::anyhow!("starting {}: {e}", opts.exe.display()))?;
    Ok(Worker {
        index,
        child,
        started: Instant::now(),
    })
}

/// A command running this very binary: on Linux through /proc/self/exe, so workers run the
/// sweep's own version even when the file is rebuilt or replaced meanwhile.
fn same_binary(exe: &Path) -> Command {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        let own = Path::new("/proc/self/exe");
        if own.exists() {
            let mut cmd = Command::new(own);
            cmd.arg0(exe);
            return cmd;
        }
    }
    Command::new(exe)
}

/// On Linux, the child gets SIGKILL when this process dies, so killing a sweep stops its
/// workers too (their cells are resumed by the next sweep).
#[cfg(target_os = "linux")]
fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: prctl, getppid and _exit are async-signal-safe and touch no parent memory.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent died before the prctl took effect.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_cmd: &mut Command) {}

fn last_lines(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
