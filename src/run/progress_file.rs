//! A run's progress as a small JSON file (a sweep cell's `progress.json`): which variant of how
//! many, step of total, steps/s and ETA, rewritten whole (by a rename) at most once a second
//! and at the last step.
//! The process running the sweep reads it to show one live line per running cell, whose own
//! console output goes to its log.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::train::Observer;
use crate::train::metrics::EvalRow;

/// The file's name in a sweep cell's directory.
pub const FILE: &str = "progress.json";

/// How often the file is rewritten while steps go on.
const EVERY: Duration = Duration::from_secs(1);

/// What the file holds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub variant: String,
    /// 1-based: "variant 2 of 6".
    pub position: usize,
    pub count: usize,
    pub step: u64,
    pub total: u64,
    /// Over this session's steps (a resume's start excluded).
    pub steps_per_sec: f64,
    /// `None` before the first step of this session.
    pub eta_seconds: Option<f64>,
}

/// An [`Observer`] keeping the file up to date for one variant.
pub struct ProgressFile {
    path: PathBuf,
    now: Snapshot,
    /// Steps done when this session started.
    first: u64,
    started: Instant,
    written: Option<Instant>,
}

impl ProgressFile {
    /// Variant `index` (0-based) of `count`, `name`, of `total` steps.
    pub fn new(path: &Path, name: &str, index: usize, count: usize, total: u64) -> Self {
        Self {
            path: path.to_path_buf(),
            now: Snapshot {
                variant: name.to_string(),
                position: index + 1,
                count,
                total,
                ..Default::default()
            },
            first: 0,
            started: Instant::now(),
            written: None,
        }
    }

    fn write(&mut self) {
        let s = &mut self.now;
        let elapsed = self.started.elapsed().as_secs_f64();
        s.steps_per_sec = s.step.saturating_sub(self.first) as f64 / elapsed.max(1e-9);
        s.eta_seconds = (s.steps_per_sec > 0.0)
            .then(|| s.total.saturating_sub(s.step) as f64 / s.steps_per_sec);
        // Only a display reads it: a failed write must not stop the training it reports on.
        if let Ok(bytes) = serde_json::to_vec(&self.now) {
            let _ = crate::util::fs::write_atomic(&self.path, &bytes);
        }
        self.written = Some(Instant::now());
    }
}

impl Observer for ProgressFile {
    fn begin(&mut self, total: u64, done: u64) {
        self.now.total = total;
        self.now.step = done;
        self.first = done;
        self.started = Instant::now();
        self.write();
    }

    fn step(&mut self, step: u64, _loss: f64) {
        self.now.step = step;
        // The last step always: the file then says where the variant ended.
        if step >= self.now.total || self.written.is_none_or(|t| t.elapsed() >= EVERY) {
            self.write();
        }
    }

    fn evaluated(&mut self, _row: &EvalRow) {}
}

/// The snapshot in `path`, if it holds one (the file is another process's output: anything
/// unreadable, or over 4 KiB, is no snapshot).
pub fn read(path: &Path) -> Option<Snapshot> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(4096)
        .read_to_end(&mut bytes)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Reports to two observers: the console's and a progress file.
pub struct Tee<'a>(pub &'a mut dyn Observer, pub &'a mut dyn Observer);

impl Observer for Tee<'_> {
    fn begin(&mut self, total: u64, done: u64) {
        self.0.begin(total, done);
        self.1.begin(total, done);
    }

    fn step(&mut self, step: u64, loss: f64) {
        self.0.step(step, loss);
        self.1.step(step, loss);
    }

    fn evaluated(&mut self, row: &EvalRow) {
        self.0.evaluated(row);
        self.1.evaluated(row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_says_where_the_variant_stands_and_junk_reads_as_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        let mut file = ProgressFile::new(&path, "bn", 1, 3, 100);
        file.begin(100, 40);
        let s = read(&path).unwrap();
        assert_eq!((s.variant.as_str(), s.position, s.count), ("bn", 2, 3));
        assert_eq!(s.eta_seconds, None);
        assert_eq!((s.step, s.total), (40, 100));
        // Within a second of the last write, steps change only the memory.
        file.step(41, 0.0);
        assert_eq!(read(&path).unwrap().step, 40);
        file.written = Some(Instant::now() - EVERY);
        file.step(42, 0.0);
        let s = read(&path).unwrap();
        assert_eq!(s.step, 42);
        assert!(s.steps_per_sec > 0.0 && s.eta_seconds > Some(0.0), "{s:?}");
        file.step(100, 0.0);
        assert_eq!(read(&path).unwrap().step, 100);

        std::fs::write(&path, b"{\"variant\": 1}").unwrap();
        assert_eq!(read(&path), None);
        std::fs::write(&path, vec![b' '; 5000]).unwrap();
        assert_eq!(read(&path), None);
        assert_eq!(read(&dir.path().join("none")), None);
    }
}
