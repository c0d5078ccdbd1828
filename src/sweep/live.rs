//! The running cells of a local sweep on a terminal: one live line per cell (which cell, its
//! variant of how many, step of total, steps/s, ETA), read from the progress file each cell's
//! process keeps (its own console output goes to its log). Off a terminal (CI, Slurm logs)
//! there are no lines, only the notes, exactly as without this.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::run::progress::{self, Mode};
use crate::run::progress_file::{self, Snapshot};

pub struct CellLines {
    mode: Mode,
    multi: Option<MultiProgress>,
    /// Cell index -> its line, its progress file and what the line shows of it.
    lines: HashMap<usize, (ProgressBar, PathBuf, Option<Snapshot>)>,
}

impl CellLines {
    pub fn new(mode: Mode) -> Self {
        let multi = (mode == Mode::Bar)
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Self {
            mode,
            multi,
            lines: HashMap::new(),
        }
    }

    /// Cell `index` (`label`: its grid point and seed) started; `progress` is its file.
    pub fn start(&mut self, index: usize, label: &str, progress: &Path) {
        let Some(multi) = &self.multi else {
            return;
        };
        let bar = multi.add(ProgressBar::new(1));
        bar.set_style(
            ProgressStyle::with_template("{prefix} [{bar:20}] {pos}/{len} steps | {msg}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(format!("cell {index} ({label})"));
        bar.set_message("starting");
        self.lines
            .insert(index, (bar, progress.to_path_buf(), None));
    }

    /// Reads every running cell's progress file into its line.
    pub fn refresh(&mut self) {
        for (bar, path, shown) in self.lines.values_mut() {
            let Some(s) = progress_file::read(path) else {
                continue;
            };
            if shown.as_ref() != Some(&s) {
                bar.set_length(s.total.max(1));
                bar.set_position(s.step.min(s.total));
                bar.set_message(message(&s));
                *shown = Some(s);
            }
        }
    }

    /// Cell `index` ended: its line goes.
    pub fn end(&mut self, index: usize) {
        if let Some((bar, ..)) = self.lines.remove(&index) {
            bar.finish_and_clear();
            if let Some(multi) = &self.multi {
                multi.remove(&bar);
            }
        }
    }

    /// A note for the user, above the live lines (as [`progress::note`] without them).
    pub fn note(&self, text: &str) {
        match &self.multi {
            Some(multi) => multi.suspend(|| eprintln!("{text}")),
            None => progress::note(self.mode, text),
        }
    }
}

/// "variant 2 of 6 (bn), 512.0 steps/s, ETA 1m 05s".
pub fn message(s: &Snapshot) -> String {
    format!(
        "variant {} of {} ({}), {:.1} steps/s, ETA {}",
        s.position,
        s.count,
        s.variant,
        s.steps_per_sec,
        s.eta_seconds.map_or("?".into(), duration)
    )
}

/// Whole seconds as `42s`, `3m 05s` or `2h 03m`.
fn duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "?".into();
    }
    let s = seconds.round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, s / 60 % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_reads_as_one_line() {
        let s = Snapshot {
            variant: "bn".into(),
            position: 2,
            count: 6,
            step: 10,
            total: 100,
            steps_per_sec: 511.96,
            eta_seconds: Some(65.2),
        };
        assert_eq!(
            message(&s),
            "variant 2 of 6 (bn), 512.0 steps/s, ETA 1m 05s"
        );
        assert_eq!(duration(7384.0), "2h 03m");
        assert_eq!(duration(f64::INFINITY), "?");
        let before = Snapshot {
            eta_seconds: None,
            ..s
        };
        assert!(message(&before).ends_with("ETA ?"));
    }
}
