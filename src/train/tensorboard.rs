//! TensorBoard event files beside metrics.csv (`<variant>/tb/events.out.tfevents.N.runner`),
//! so `tensorboard --logdir results/` shows every variant's curves while it trains: one scalar
//! per metrics.csv column (the step is the event's step), one event per row, each written and
//! flushed with the row.
//!
//! The format is small enough to write by hand (the Rust crates for it are unmaintained and
//! pull in a protobuf code generator): a file is a sequence of TFRecords (u64 length, masked
//! CRC-32C of the length, data, masked CRC-32C of the data), each holding one `Event` protobuf:
//! `wall_time` (double, field 1), `step` (int64, field 2), and either `file_version` (string,
//! field 3; "brain.Event:2" in the first record) or `summary` (field 5), a `Summary` of
//! `Value`s {`tag` (string, field 1), `simple_value` (float, field 2)}.
//!
//! The file mirrors metrics.csv: every time the metrics file is (re)opened, a resume included,
//! a new event file is written holding the rows metrics.csv keeps, and the older ones are
//! removed. So the directory never holds the stale rows a resumed run writes again, and a
//! TensorBoard already watching sees a newer file starting at an earlier step, which it takes
//! as a restart (it drops the steps it had from there on). The events' wall times are those of
//! writing, not of training, for rows written again; nothing here is read back by runner, and
//! metrics.csv's bytes do not depend on it.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;

use super::metrics::EvalRow;

/// The folder beside metrics.csv holding the event file.
pub const DIR: &str = "tb";

const PREFIX: &str = "events.out.tfevents.";
const SUFFIX: &str = ".runner";

/// An open event file that rows are appended to.
pub struct EventFile {
    path: PathBuf,
    file: File,
    /// The tags: metrics.csv's columns after `step`.
    tags: Vec<String>,
}

impl EventFile {
    /// Writes a new event file in `dir` (created if needed) holding `rows`, with `columns`
    /// (metrics.csv's header) as the tags, removes the older event files runner wrote there,
    /// and opens the new one for appending.
    pub fn create(dir: &Path, columns: &[String], rows: &[EvalRow]) -> anyhow::Result<Self> {
        match std::fs::symlink_metadata(dir) {
            Ok(m) if !m.is_dir() => crate::bail_user!(
                "{} is in the way of the TensorBoard folder: it is not a directory (remove it, \
                 or set output.tensorboard = false)",
                dir.display()
            ),
            Ok(_) => {}
            Err(_) => crate::util::fs::create_dir_all(dir)?,
        }
        let older = own_files(dir)?;
        // A name after every older one: TensorBoard reads a folder's files in name order.
        let n = older.iter().map(|(n, _)| n + 1).max().unwrap_or(0);
        let n = n.max(now().floor() as u64);
        let path = dir.join(format!("{PREFIX}{n:010}{SUFFIX}"));
        let tags: Vec<String> = columns.iter().skip(1).cloned().collect();
        let wall_time = now();
        let mut bytes = record(&file_version_event(wall_time));
        for row in rows {
            bytes.extend(record(&row_event(wall_time, row, &tags)));
        }
        crate::util::fs::write_atomic(&path, &bytes)?;
        for (_, old) in older {
            std::fs::remove_file(&old)
                .with_context(|| format!("removing the stale {}", old.display()))?;
        }
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        Ok(Self { path, file, tags })
    }

    /// Appends the event of `row`, in one write, and flushes it.
    pub fn append(&mut self, row: &EvalRow) -> anyhow::Result<()> {
        let bytes = record(&row_event(now(), row, &self.tags));
        self.file
            .write_all(&bytes)
            .and_then(|_| self.file.flush())
            .with_context(|| format!("writing {}", self.path.display()))
    }
}

/// The event files runner wrote in `dir` (`events.out.tfevents.N.runner`), with their `N`;
/// anything else there is left alone.
fn own_files(dir: &Path) -> anyhow::Result<Vec<(u64, PathBuf)>> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let name = entry.file_name();
        let Some(number) = name
            .to_str()
            .and_then(|s| s.strip_prefix(PREFIX))
            .and_then(|s| s.strip_suffix(SUFFIX))
        else {
            continue;
        };
        if let Ok(n) = number.parse::<u64>()
            && entry.file_type().is_ok_and(|t| t.is_file())
        {
            out.push((n, entry.path()));
        }
    }
    Ok(out)
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The first event of every file: which version of the format it is.
fn file_version_event(wall_time: f64) -> Vec<u8> {
    let mut event = Vec::new();
    double_field(&mut event, 1, wall_time);
    bytes_field(&mut event, 3, b"brain.Event:2");
    event
}

/// The event of one metrics.csv row: its step, and a value per column after `step`, tagged
/// by the column's name (TensorBoard keeps scalars as 32-bit floats).
fn row_event(wall_time: f64, row: &EvalRow, tags: &[String]) -> Vec<u8> {
    let values = [
        row.epoch,
        row.lr,
        row.train_loss,
        row.train_accuracy,
        row.test_loss,
        row.test_accuracy,
    ];
    let mut summary = Vec::new();
    for (tag, value) in tags.iter().zip(values.iter().chain(&row.extra)) {
        let mut v = Vec::new();
        bytes_field(&mut v, 1, tag.as_bytes());
        float_field(&mut v, 2, *value as f32);
        bytes_field(&mut summary, 1, &v);
    }
    let mut event = Vec::new();
    double_field(&mut event, 1, wall_time);
    varint_field(&mut event, 2, row.step);
    bytes_field(&mut event, 5, &summary);
    event
}

// Protobuf wire types: 0 varint, 1 64-bit, 2 length-delimited, 5 32-bit.

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn key(out: &mut Vec<u8>, field: u64, wire_type: u64) {
    varint(out, (field << 3) | wire_type);
}

fn varint_field(out: &mut Vec<u8>, field: u64, v: u64) {
    key(out, field, 0);
    varint(out, v);
}

fn double_field(out: &mut Vec<u8>, field: u64, v: f64) {
    key(out, field, 1);
    out.extend(v.to_le_bytes());
}

fn float_field(out: &mut Vec<u8>, field: u64, v: f32) {
    key(out, field, 5);
    out.extend(v.to_le_bytes());
}

fn bytes_field(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    key(out, field, 2);
    varint(out, bytes.len() as u64);
    out.extend(bytes);
}

/// One TFRecord: the length, its masked CRC, the data, its masked CRC (all little-endian).
fn record(data: &[u8]) -> Vec<u8> {
    let len = (data.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(data.len() + 16);
    out.extend(len);
    out.extend(masked_crc32c(&len).to_le_bytes());
    out.extend(data);
    out.extend(masked_crc32c(data).to_le_bytes());
    out
}

/// TFRecord's CRC: rotated and offset, so that a CRC of data holding CRCs stays strong.
fn masked_crc32c(bytes: &[u8]) -> u32 {
    crc32c(bytes).rotate_right(15).wrapping_add(0xa282_ead8)
}

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), a byte at a time: event records are
/// a few hundred bytes.
fn crc32c(bytes: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    (c >> 1) ^ 0x82F6_3B78
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    };
    let mut crc = !0u32;
    for &b in bytes {
        crc = TABLE[((crc ^ b as u32) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_known_answers() {
        // The check value of CRC-32C and RFC 3720's (iSCSI) test patterns.
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(crc32c(&[0xffu8; 32]), 0x62A8_AB43);
        let ascending: Vec<u8> = (0..32).collect();
        assert_eq!(crc32c(&ascending), 0x46DD_794E);
        assert_eq!(crc32c(b""), 0);
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn row(step: u64) -> EvalRow {
        EvalRow {
            step,
            epoch: 0.75,
            lr: 0.1,
            train_loss: 2.25,
            train_accuracy: 0.125,
            test_loss: 1.5,
            test_accuracy: 0.5,
            extra: vec![7.0],
        }
    }

    // The expected bytes are those of the `tensorboard` Python package (2.21.0): its
    // `event_pb2.Event(...).SerializeToString()` and `RecordWriter`, for the same events.
    #[test]
    fn events_and_records_are_the_bytes_tensorboard_writes() {
        let version = file_version_event(1.5);
        assert_eq!(
            hex(&version),
            "09000000000000f83f1a0d627261696e2e4576656e743a32"
        );
        assert_eq!(
            hex(&record(&version)),
            "1800000000000000a37f4b22\
             09000000000000f83f1a0d627261696e2e4576656e743a32\
             2a28646c"
        );
        let event = row_event(1.5, &row(300), &["epoch".into(), "lr".into()]);
        assert_eq!(
            hex(&event),
            "09000000000000f83f10ac022a190a0c0a0565706f6368150000403f0a090a026c7215cdcccc3d"
        );
        assert_eq!(
            hex(&record(&event)),
            "2700000000000000bbe1b146\
             09000000000000f83f10ac022a190a0c0a0565706f6368150000403f0a090a026c7215cdcccc3d\
             2e756f8d"
        );
    }

    #[test]
    fn every_column_after_step_is_a_tag_in_order() {
        let tags: Vec<String> = super::super::metrics::header(&["x".into()])
            .into_iter()
            .skip(1)
            .collect();
        let event = row_event(0.0, &row(10), &tags);
        let text = String::from_utf8_lossy(&event);
        let mut at = 0;
        for tag in &tags {
            let i = text[at..]
                .find(tag.as_str())
                .unwrap_or_else(|| panic!("{tag}"));
            at += i + tag.len();
        }
        // The extra column's value, 7.0 as a little-endian f32, after its tag.
        assert!(hex(&event).ends_with(&format!(
            "0a01{}15{}",
            hex(b"x"),
            hex(&7.0f32.to_le_bytes())
        )));
    }

    #[test]
    fn a_new_file_replaces_the_older_ones_and_sorts_after_them() {
        let dir = tempfile::tempdir().unwrap();
        let tb = dir.path().join(DIR);
        let columns = super::super::metrics::header(&["x".into()]);
        let mut file = EventFile::create(&tb, &columns, &[row(10)]).unwrap();
        file.append(&row(20)).unwrap();
        let first = file.path.clone();
        let whole = std::fs::read(&first).unwrap();
        let one = record(&row_event(0.0, &row(10), &file.tags)).len();
        // The version record, then one record per row, each whole.
        assert_eq!(
            whole.len(),
            record(&file_version_event(0.0)).len() + 2 * one
        );
        drop(file);
        // Not runner's: left alone.
        std::fs::write(tb.join("events.out.tfevents.1.other"), b"").unwrap();
        let again = EventFile::create(&tb, &columns, &[row(10)]).unwrap();
        assert!(again.path > first, "{:?} sorts after {first:?}", again.path);
        let mut names: Vec<String> = std::fs::read_dir(&tb)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "events.out.tfevents.1.other".to_string(),
                again
                    .path
                    .file_name()
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_string()
            ]
        );
        assert_eq!(
            std::fs::read(&again.path).unwrap().len(),
            record(&file_version_event(0.0)).len() + one
        );
    }

    #[test]
    fn a_file_where_the_folder_belongs_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let tb = dir.path().join(DIR);
        std::fs::write(&tb, b"").unwrap();
        let err = EventFile::create(&tb, &[], &[]).err().unwrap();
        assert!(err.to_string().contains(&tb.display().to_string()), "{err}");
        assert!(crate::error::is_user_error(&err));
    }
}
