//! `runner status SWEEP`: what each cell is doing, from the cell dirs, their locks, and (for
//! submitted jobs) Slurm's queue.

use std::path::Path;

use super::cell::{self, State};
use super::live;
use super::{Plan, cell_dir, slurm};
use crate::run::progress_file;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CellState {
    Done,
    Running,
    /// Waiting in Slurm's queue.
    Queued,
    Failed,
    Missing,
}

impl CellState {
    pub fn as_str(&self) -> &'static str {
        match self {
            CellState::Done => "done",
            CellState::Running => "running",
            CellState::Queued => "queued",
            CellState::Failed => "failed",
            CellState::Missing => "missing",
        }
    }
}

pub struct CellStatus {
    pub index: usize,
    pub label: String,
    pub state: CellState,
    pub detail: String,
}

pub struct Status {
    pub plan: Plan,
    pub cells: Vec<CellStatus>,
}

impl Status {
    pub fn count(&self, s: CellState) -> usize {
        self.cells.iter().filter(|c| c.state == s).count()
    }

    /// Cells to run again: failed and missing (not done, running or queued).
    pub fn to_rerun(&self) -> Vec<usize> {
        self.cells
            .iter()
            .filter(|c| matches!(c.state, CellState::Failed | CellState::Missing))
            .map(|c| c.index)
            .collect()
    }
}

pub fn collect(sweep: &Path) -> anyhow::Result<Status> {
    let plan = Plan::read(sweep)?;
    let jobs = slurm::submitted_jobs(sweep);
    let queue = if jobs.is_empty() {
        None
    } else {
        slurm::queued_tasks(&jobs)
    };
    let mut cells = Vec::new();
    for c in &plan.cells {
        let dir = cell_dir(sweep, &plan, c.index);
        let state = State::read(&dir);
        let in_queue = queue
            .as_ref()
            .and_then(|q| q.iter().find(|(i, _)| *i == c.index))
            .map(|(_, s)| s.as_str());
        let who = |s: &State| match &s.slurm_job {
            Some(job) => format!("Slurm job {job} on {}", s.host),
            None => format!("pid {} on {}", s.pid, s.host),
        };
        let (st, detail) = if let Some(run) = cell::finished_run(&dir) {
            let rel = run
                .strip_prefix(sweep)
                .unwrap_or(&run)
                .display()
                .to_string();
            (CellState::Done, rel)
        } else if cell::is_locked(&dir) {
            let who = state.as_ref().map(who).unwrap_or_default();
            (CellState::Running, with_progress(who, &dir))
        } else if let Some(q) = in_queue {
            match q {
                "RUNNING" | "COMPLETING" | "CONFIGURING" => (
                    CellState::Running,
                    with_progress(format!("Slurm: {q}"), &dir),
                ),
                _ => (CellState::Queued, format!("Slurm: {q}")),
            }
        } else if let Some(s) = &state {
            let detail = match s.state.as_str() {
                "failed" => format!(
                    "attempt {}: {}",
                    s.attempts,
                    s.error
                        .as_deref()
                        .unwrap_or("")
                        .lines()
                        .next()
                        .unwrap_or("")
                ),
                "running" => format!(
                    "attempt {} stopped before finishing ({}); it resumes from its checkpoints",
                    s.attempts,
                    who(s)
                ),
                _ => "its run dir is gone".to_string(),
            };
            (CellState::Failed, detail)
        } else if !cell::run_dirs(&dir).is_empty() {
            (
                CellState::Failed,
                "stopped before finishing; it resumes from its checkpoints".into(),
            )
        } else {
            (CellState::Missing, String::new())
        };
        cells.push(CellStatus {
            index: c.index,
            label: plan.label(c),
            state: st,
            detail,
        });
    }
    Ok(Status { plan, cells })
}

/// `detail`, then where a running cell's run stands, from its progress file if it has one:
/// "pid 7 on host: step 300/600, variant 1 of 2 (baseline), 512.0 steps/s, ETA 1s".
fn with_progress(detail: String, cell: &Path) -> String {
    match progress_file::read(&cell::progress_path(cell)) {
        Some(s) => {
            let at = format!("step {}/{}, {}", s.step, s.total, live::message(&s));
            match detail.is_empty() {
                true => at,
                false => format!("{detail}: {at}"),
            }
        }
        None => detail,
    }
}
