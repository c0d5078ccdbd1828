//! `metrics.csv`: one row per evaluation, appended and flushed as training goes, so a killed
//! run keeps every row it wrote. Values are written in Rust's shortest round-trip form, so the
//! file is byte-identical across identical runs and re-reads to the same numbers.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::bail_user;

pub const STANDARD_COLUMNS: [&str; 7] = [
    "step",
    "epoch",
    "lr",
    "train_loss",
    "train_accuracy",
    "test_loss",
    "test_accuracy",
];

#[derive(Clone, Debug, PartialEq)]
pub struct EvalRow {
    pub step: u64,
    pub epoch: f64,
    pub lr: f64,
    /// Mean over the training batches since the previous evaluation.
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub test_loss: f64,
    pub test_accuracy: f64,
    pub extra: Vec<f64>,
}

pub struct MetricsFile {
    path: PathBuf,
    file: File,
    rows: Vec<EvalRow>,
}

impl MetricsFile {
    /// Opens the file for appending. Rows past `resume_step` (written after the checkpoint a
    /// resumed run starts from) are dropped, since the resumed run writes them again.
    pub fn open(path: &Path, extra: &[String], resume_step: u64) -> anyhow::Result<Self> {
        let header: Vec<String> = STANDARD_COLUMNS
            .iter()
            .map(|s| s.to_string())
            .chain(extra.iter().cloned())
            .collect();
        let mut rows = Vec::new();
        if resume_step > 0 && path.exists() {
            rows = read(path)?;
            rows.retain(|r| r.step <= resume_step);
        }
        let mut file =
            File::create(path).with_context(|| format!("creating {}", path.display()))?;
        writeln!(file, "{}", header.join(","))?;
        for row in &rows {
            writeln!(file, "{}", format_row(row))?;
        }
        file.sync_data()?;
        let file = OpenOptions::new().append(true).open(path)?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            rows,
        })
    }

    pub fn rows(&self) -> &[EvalRow] {
        &self.rows
    }

    pub fn append(&mut self, row: &EvalRow) -> anyhow::Result<()> {
        writeln!(self.file, "{}", format_row(row))
            .and_then(|_| self.file.flush())
            .with_context(|| format!("writing {}", self.path.display()))?;
        self.rows.push(row.clone());
        Ok(())
    }
}

fn format_row(r: &EvalRow) -> String {
    let mut fields = vec![
        r.step.to_string(),
        r.epoch.to_string(),
        r.lr.to_string(),
        r.train_loss.to_string(),
        r.train_accuracy.to_string(),
        r.test_loss.to_string(),
        r.test_accuracy.to_string(),
    ];
    fields.extend(r.extra.iter().map(|v| v.to_string()));
    fields.join(",")
}

/// Reads a metrics file back.
pub fn read(path: &Path) -> anyhow::Result<Vec<EvalRow>> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("reading {}", path.display()))?;
        let nums: Result<Vec<f64>, _> = record.iter().map(str::parse::<f64>).collect();
        let Ok(nums) = nums else {
            bail_user!("{}: row {} is not numeric", path.display(), i + 2);
        };
        if nums.len() < STANDARD_COLUMNS.len() {
            bail_user!(
                "{}: row {} has {} columns",
                path.display(),
                i + 2,
                nums.len()
            );
        }
        rows.push(EvalRow {
            step: nums[0] as u64,
            epoch: nums[1],
            lr: nums[2],
            train_loss: nums[3],
            train_accuracy: nums[4],
            test_loss: nums[5],
            test_accuracy: nums[6],
            extra: nums[7..].to_vec(),
        });
    }
    Ok(rows)
}
