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

/// Progress of one variant.
pub struct VariantProgress {
    mode: Mode,
    name: String,
    total: u64,
    bar: Option<ProgressBar>,
    started: Instant,
    last_line: Instant,
    interval: Duration,
    last_eval: Option<EvalRow>,
    loss: f64,
}

impl VariantProgress {
    pub fn new(mode: Mode, name: &str, total: u64, done: u64) -> Self {
        let bar = (mode == Mode::Bar).then(|| {
            let bar = ProgressBar::new(total).with_position(done);
            bar.set_style(
                ProgressStyle::with_template("{prefix:>12} [{bar:25}] {pos}/{len} {msg} ETA {eta}")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            bar.set_prefix(name.to_string());
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
            total,
            bar,
            started: now,
            last_line: now,
            interval,
            last_eval: None,
            loss: f64::NAN,
        }
    }

    fn message(&self) -> String {
        let mut msg = format!("loss {:.4}", self.loss);
        if let Some(r) = &self.last_eval {
            msg += &format!(" acc {:.2}%", 100.0 * r.test_accuracy);
        }
        msg
    }

    fn line(&mut self, step: u64) {
        let elapsed = self.started.elapsed().as_secs_f64();
        eprintln!(
            "[{}] step {step}/{} ({:.0}%) {} | {:.0}s",
            self.name,
            self.total,
            100.0 * step as f64 / self.total as f64,
            self.message(),
            elapsed
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
                    "[{}] {status} after {:.0}s: {}",
                    self.name,
                    self.started.elapsed().as_secs_f64(),
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
        if let Some(bar) = &self.bar {
            bar.set_length(total);
            bar.set_position(done);
            bar.reset_eta();
        }
    }

    fn step(&mut self, step: u64, loss: f64) {
        self.loss = loss;
        match self.mode {
            Mode::Bar => {
                if let Some(bar) = &self.bar {
                    bar.set_position(step);
                    if step.is_multiple_of(50) {
                        bar.set_message(self.message());
                    }
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
