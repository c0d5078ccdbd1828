//! `metrics.csv`: one row per evaluation, appended and flushed as training goes, so a killed
//! run keeps every row it wrote. Values are written in Rust's shortest round-trip form, so the
//! file is byte-identical across identical runs and re-reads to the same numbers.
//!
//! Each row can also go to a TensorBoard event file ([`MetricsFile::with_tensorboard`]).
//!
//! This is also the one reader of the file: as [`EvalRow`]s ([`read`]), or as a table of
//! named columns ([`read_table`]) for the claims and the plots.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use sha2::{Digest, Sha256};

use super::tensorboard::EventFile;
use crate::util::hash::hex;
use crate::{bail_user, user_error};

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
    header: Vec<String>,
    rows: Vec<EvalRow>,
    /// Of everything written so far (see [`MetricsFile::sha256`]).
    hasher: Sha256,
    /// Where each row also goes, if anywhere.
    tensorboard: Option<EventFile>,
}

impl MetricsFile {
    /// Opens the file for appending. Rows past `resume_step` (written after the checkpoint a
    /// resumed run starts from) are dropped, since the resumed run writes them again, and so is
    /// a last line cut short by a kill (see [`read_complete`]). The kept rows go to a new file
    /// that is renamed over the old one, so a kill at any moment leaves either the old file or
    /// the new one whole.
    pub fn open(path: &Path, extra: &[String], resume_step: u64) -> anyhow::Result<Self> {
        let mut rows = Vec::new();
        if resume_step > 0 && path.exists() {
            rows = read_complete(path)?;
            rows.retain(|r| r.step <= resume_step);
        }
        Self::with_rows(path, extra, rows)
    }

    /// Replaces the file by one holding the header and `rows`, and opens it for appending.
    pub fn with_rows(path: &Path, extra: &[String], rows: Vec<EvalRow>) -> anyhow::Result<Self> {
        let header = header(extra);
        let text = contents(&header, &rows);
        crate::util::fs::write_atomic(path, text.as_bytes())?;
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            header,
            rows,
            hasher: Sha256::new().chain_update(text.as_bytes()),
            tensorboard: None,
        })
    }

    /// Also writes every row to a TensorBoard event file in `dir`: the rows so far at once
    /// (a new file replacing the older ones, so a resumed run's file holds no stale rows), then
    /// each appended row as it is appended. metrics.csv's bytes are the same either way.
    pub fn with_tensorboard(mut self, dir: &Path) -> anyhow::Result<Self> {
        self.tensorboard = Some(EventFile::create(dir, &self.header, &self.rows)?);
        Ok(self)
    }

    /// SHA-256 of the file as it stands, which a checkpoint records: equal to [`sha256`] of
    /// the header and the rows so far.
    pub fn sha256(&self) -> String {
        hex(&self.hasher.clone().finalize())
    }

    pub fn rows(&self) -> &[EvalRow] {
        &self.rows
    }

    /// Appends a row, newline included, in one write: a kill leaves the row whole or a last
    /// line without its newline, which [`read_complete`] recognizes.
    pub fn append(&mut self, row: &EvalRow) -> anyhow::Result<()> {
        let line = format_row(row) + "\n";
        self.file
            .write_all(line.as_bytes())
            .and_then(|_| self.file.flush())
            .with_context(|| format!("writing {}", self.path.display()))?;
        self.hasher.update(line.as_bytes());
        self.rows.push(row.clone());
        if let Some(tb) = &mut self.tensorboard {
            tb.append(row)?;
        }
        Ok(())
    }
}

/// The header line's columns: the standard ones, then the kind's `extra`.
pub fn header(extra: &[String]) -> Vec<String> {
    STANDARD_COLUMNS
        .iter()
        .map(|s| s.to_string())
        .chain(extra.iter().cloned())
        .collect()
}

/// SHA-256 of the file [`MetricsFile`] writes with `header` and `rows` (values are written in
/// their shortest round-trip form, so rows read back hash as the bytes they were read from).
pub fn sha256(header: &[String], rows: &[EvalRow]) -> String {
    crate::util::hash::sha256_bytes(contents(header, rows).as_bytes())
}

/// The rows up to `step`: those before the first row past it.
pub fn up_to(rows: &[EvalRow], step: u64) -> &[EvalRow] {
    &rows[..rows.iter().take_while(|r| r.step <= step).count()]
}

/// The file's text with `header` and `rows`, as [`MetricsFile`] writes it.
fn contents(header: &[String], rows: &[EvalRow]) -> String {
    let mut text = header.join(",") + "\n";
    for row in rows {
        text += &format_row(row);
        text.push('\n');
    }
    text
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

/// Why [`read_table`] could not read a metrics file.
#[derive(Debug)]
pub enum ReadError {
    /// The file could not be opened (most often: there is none).
    Open(csv::Error),
    /// Its header could not be read.
    Header(csv::Error),
}

impl ReadError {
    pub fn into_csv(self) -> csv::Error {
        match self {
            ReadError::Open(e) | ReadError::Header(e) => e,
        }
    }
}

/// A metrics file read back as text, for readers that want columns by name (any columns, not
/// only the standard ones) rather than [`EvalRow`]s.
pub struct MetricsTable {
    pub columns: Vec<String>,
    /// Each row, or why csv could not read it (e.g. a line cut short when a run was killed
    /// mid-write has too few fields). Rows after an unreadable one are still read.
    pub rows: Vec<csv::Result<csv::StringRecord>>,
}

impl MetricsTable {
    /// The index of the first column named `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// The first row that could not be read.
    pub fn unreadable(&self) -> Option<&csv::Error> {
        self.rows.iter().find_map(|r| r.as_ref().err())
    }

    /// `(step, value)` of column `i`, in file order, over the readable rows whose step parses
    /// as an integer and whose value as a number; `None` without a `step` column.
    pub fn points(&self, i: usize) -> Option<impl Iterator<Item = (u64, f64)> + '_> {
        let si = self.position("step")?;
        Some(self.rows.iter().flatten().filter_map(move |rec| {
            let s = rec.get(si)?.parse::<u64>().ok()?;
            let v = rec.get(i)?.parse::<f64>().ok()?;
            Some((s, v))
        }))
    }

    /// `step -> value` of the column named `name` (a later row wins a repeated step); `None`
    /// without that column or a `step` column. Unreadable rows are left out.
    pub fn column(&self, name: &str) -> Option<BTreeMap<u64, f64>> {
        Some(self.points(self.position(name)?)?.collect())
    }
}

/// Reads a metrics file back as text; only opening it and reading its header can fail.
pub fn read_table(path: &Path) -> Result<MetricsTable, ReadError> {
    let mut reader = csv::Reader::from_path(path).map_err(ReadError::Open)?;
    let columns = reader
        .headers()
        .map_err(ReadError::Header)?
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader.into_records().collect();
    Ok(MetricsTable { columns, rows })
}

/// Reads a metrics file back as [`EvalRow`]s: every field a number, the standard columns
/// first. Anything else is the user's error, naming the file and the line.
pub fn read(path: &Path) -> anyhow::Result<Vec<EvalRow>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    parse(path, &bytes)
}

/// [`read`] for a run being resumed, which writes again every row after its checkpoint: a last
/// line without its newline (cut short by a kill while [`MetricsFile::append`] wrote it) is
/// left out, with a warning, rather than failing the resume. Only the last line: a damaged
/// line before it was not cut by a kill, and is an error.
pub fn read_complete(path: &Path) -> anyhow::Result<Vec<EvalRow>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let whole = match bytes.iter().rposition(|&b| b == b'\n') {
        Some(i) => i + 1,
        None => 0,
    };
    if whole < bytes.len() {
        eprintln!(
            "warning: {}: its last line ({} bytes) was cut short, most likely by a kill while \
             it was written; it is left out and written again",
            path.display(),
            bytes.len() - whole
        );
    }
    parse(path, &bytes[..whole])
}

fn parse(path: &Path, bytes: &[u8]) -> anyhow::Result<Vec<EvalRow>> {
    let mut reader = csv::Reader::from_reader(bytes);
    reader
        .headers()
        .map_err(|e| user_error!("{}: unreadable header: {}", path.display(), csv_cause(&e)))?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| user_error!("{}: {}", path.display(), csv_cause(&e)))?;
        let line = record.position().map_or(0, |p| p.line());
        let mut nums = Vec::with_capacity(record.len());
        for field in &record {
            match field.parse::<f64>() {
                Ok(v) => nums.push(v),
                Err(_) => bail_user!(
                    "{}: line {line}: `{}` is not a number",
                    path.display(),
                    field.escape_debug()
                ),
            }
        }
        if nums.len() < STANDARD_COLUMNS.len() {
            bail_user!(
                "{}: line {line} has {} columns, fewer than the {} standard ones",
                path.display(),
                nums.len(),
                STANDARD_COLUMNS.len()
            );
        }
        let step = nums[0];
        if !(step >= 0.0 && step.fract() == 0.0 && step < u64::MAX as f64) {
            bail_user!(
                "{}: line {line}: step `{step}` is not a whole number of steps",
                path.display()
            );
        }
        rows.push(EvalRow {
            step: step as u64,
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

/// What is wrong at which line, in words (csv's own message speaks of records and bytes).
fn csv_cause(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => format!(
            "line {} has {len} fields where the header has {expected_len}",
            pos.as_ref().map_or(0, |p| p.line())
        ),
        csv::ErrorKind::Utf8 { pos, .. } => format!(
            "line {} is not UTF-8 text",
            pos.as_ref().map_or(0, |p| p.line())
        ),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_cut_short_is_kept_as_an_error_and_the_rest_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.csv");
        std::fs::write(&path, "step,acc,loss\n50,0.25,1\n75,0.3\n100,0.5,x\n").unwrap();
        let table = read_table(&path).unwrap();
        assert_eq!(table.columns, ["step", "acc", "loss"]);
        assert_eq!(table.rows.len(), 3);
        assert!(table.unreadable().is_some());
        let acc = table.column("acc").unwrap();
        assert_eq!(
            acc.into_iter().collect::<Vec<_>>(),
            [(50, 0.25), (100, 0.5)]
        );
        assert_eq!(table.points(2).unwrap().collect::<Vec<_>>(), [(50, 1.0)]);
        assert!(table.column("nope").is_none());
        assert!(matches!(
            read_table(&dir.path().join("none.csv")),
            Err(ReadError::Open(_))
        ));
    }

    fn row(step: u64) -> EvalRow {
        EvalRow {
            step,
            epoch: 0.5,
            lr: 0.1,
            train_loss: 2.25,
            train_accuracy: 0.125,
            test_loss: 1.5,
            test_accuracy: 0.5,
            extra: vec![],
        }
    }

    #[test]
    fn resuming_replaces_the_file_by_a_rename_and_keeps_the_rows_up_to_the_checkpoint() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.csv");
        let mut file = MetricsFile::open(&path, &[], 0).unwrap();
        for step in [10, 20, 30] {
            file.append(&row(step)).unwrap();
        }
        drop(file);
        let before = std::fs::read(&path).unwrap();
        // A second name for the old file: an in-place rewrite would change what it holds.
        let old = dir.path().join("old.csv");
        std::fs::hard_link(&path, &old).unwrap();
        let inode = std::fs::metadata(&path).unwrap().ino();

        let mut file = MetricsFile::open(&path, &[], 20).unwrap();
        assert_eq!(file.rows(), [row(10), row(20)]);
        assert_ne!(std::fs::metadata(&path).unwrap().ino(), inode);
        assert_eq!(std::fs::read(&old).unwrap(), before);
        file.append(&row(30)).unwrap();
        drop(file);
        assert_eq!(std::fs::read(&path).unwrap(), before);
        assert_eq!(std::fs::read(&old).unwrap(), before);
        // Nothing but the two names is left in the folder (no temporary file).
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn rows_written_are_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.csv");
        let row = EvalRow {
            step: 10,
            epoch: 0.5,
            lr: 0.1,
            train_loss: 2.25,
            train_accuracy: 0.125,
            test_loss: f64::NAN,
            test_accuracy: 0.5,
            extra: vec![7.0],
        };
        let mut file = MetricsFile::open(&path, &["x".into()], 0).unwrap();
        file.append(&row).unwrap();
        let back = read(&path).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(format_row(&back[0]), format_row(&row));
        let table = read_table(&path).unwrap();
        assert_eq!(table.column("x").unwrap()[&10], 7.0);
        assert!(table.column("test_loss").unwrap()[&10].is_nan());
    }
}
