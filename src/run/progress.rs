//! Progress of a run: indicatif bars when stderr is a terminal, throttled plain lines
//! otherwise (CI, Slurm logs), nothing with `--quiet`.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::train::Observer;
use crate::train::metrics::EvalRow;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Bar,
    Lines,
    Quiet,
}

impl Mode {
    pub fn detect(quiet: bool) -> Self {
        if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            Mode::Bar
        } else {
            Mode::Lines
        }
    }
}

/// Progress of one variant: steps, rate, elapsed time and ETA, which variant of how many, and
/// the last evaluation's values under their metrics.csv names.
pub struct VariantProgress {
    mode: Mode,
    name: String,
    /// "variant 2 of 6".
    position: String,
    total: u64,
    /// Steps done when this session started (a resume starts past 0).
    first: u64,
    bar: Option<ProgressBar>,
    started: Instant,
    last_line: Instant,
    interval: Duration,
    last_eval: Option<EvalRow>,
}

impl VariantProgress {
    /// Variant `index` (0-based) of `count`, `name`, `total` steps of which `done` are done.
    pub fn new(mode: Mode, name: &str, index: usize, count: usize, total: u64, done: u64) -> Self {
        let position = format!("variant {} of {count}", index + 1);
        let bar = (mode == Mode::Bar).then(|| {
            let bar = ProgressBar::new(total).with_position(done);
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{bar:25}] {pos}/{len} steps, {per_sec}, \
                     {elapsed} elapsed, ETA {eta} | {msg}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.set_prefix(format!("[{name}] {position}"));
            bar
        });
        let interval = std::env::var("RUNNER_LOG_INTERVAL")
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .map(Duration::from_secs_f64)
            .unwrap_or(Duration::from_secs(10));
        let now = Instant::now();
        Self {
            mode,
            name: name.to_string(),
            position,
            total,
            first: done,
            bar,
            started: now,
            last_line: now,
            interval,
            last_eval: None,
        }
    }

    /// The last evaluation under metrics.csv's column names.
    fn message(&self) -> String {
        match &self.last_eval {
            Some(r) => format!(
                "test_accuracy {:.2}%, test_loss {:.4}, train_loss {:.4} (step {})",
                100.0 * r.test_accuracy,
                r.test_loss,
                r.train_loss,
                r.step
            ),
            None => "not evaluated yet".into(),
        }
    }

    fn line(&mut self, step: u64) {
        let elapsed = self.started.elapsed().as_secs_f64();
        let rate = (step - self.first.min(step)) as f64 / elapsed.max(1e-9);
        let eta = (self.total.saturating_sub(step)) as f64 / rate.max(1e-9);
        eprintln!(
            "[{}] {}: step {step}/{} ({:.0}%), {rate:.1} steps/s, {elapsed:.0}s elapsed, \
             ETA {eta:.0}s | {}",
            self.name,
            self.position,
            self.total,
            100.0 * step as f64 / self.total.max(1) as f64,
            self.message(),
        );
        self.last_line = Instant::now();
    }

    pub fn finish(&mut self, status: &str) {
        match self.mode {
            Mode::Bar | Mode::Lines => {
                if let Some(bar) = &self.bar {
                    bar.finish_and_clear();
                }
                eprintln!(
                    "[{}] {status} after {:.0}s ({}): {}",
                    self.name,
                    self.started.elapsed().as_secs_f64(),
                    self.position,
                    self.message()
                );
            }
            Mode::Quiet => {}
        }
    }
}

impl Observer for VariantProgress {
    fn begin(&mut self, total: u64, done: u64) {
        self.total = total;
        self.first = done;
        if let Some(bar) = &self.bar {
            bar.set_length(total);
            bar.set_position(done);
            bar.reset_eta();
        }
    }

    fn step(&mut self, step: u64, _batch_loss: f64) {
        match self.mode {
            Mode::Bar => {
                if let Some(bar) = &self.bar {
                    bar.set_position(step);
                }
            }
            Mode::Lines if self.last_line.elapsed() >= self.interval => self.line(step),
            _ => {}
        }
    }

    fn evaluated(&mut self, row: &EvalRow) {
        self.last_eval = Some(row.clone());
        if let Some(bar) = &self.bar {
            bar.set_message(self.message());
        }
    }
}

/// A note for the user on stderr (warnings, where results went), unless quiet.
pub fn note(mode: Mode, text: &str) {
    if mode != Mode::Quiet {
        eprintln!("{text}");
    }
}
