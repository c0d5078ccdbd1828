//! TensorBoard event files beside each variant's metrics.csv, read back here with a decoder of
//! the format written for this test (TFRecord framing with its CRCs, the Event and Summary
//! protobufs): one event per metrics.csv row, a scalar per column, nothing stale after a
//! resume, none with `output.tensorboard = false`, and metrics.csv the same bytes either way.
//! `scripts/dev/check_tensorboard.py` checks the same files with TensorBoard's own reader.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// One decoded event: its step, and either the file version or the summary's values.
#[derive(Debug)]
struct Event {
    step: u64,
    file_version: Option<String>,
    values: Vec<(String, f32)>,
}

/// CRC-32C a bit at a time (the writer uses a table), masked as TFRecord does.
fn masked_crc(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    (!crc).rotate_right(15).wrapping_add(0xa282_ead8)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// The records of an event file, each CRC checked.
fn records(bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let len_bytes = &bytes[at..at + 8];
        assert_eq!(
            u32_at(bytes, at + 8),
            masked_crc(len_bytes),
            "length CRC at {at}"
        );
        let len = u64::from_le_bytes(len_bytes.try_into().unwrap()) as usize;
        let data = &bytes[at + 12..at + 12 + len];
        assert_eq!(
            u32_at(bytes, at + 12 + len),
            masked_crc(data),
            "data CRC at {at}"
        );
        out.push(data);
        at += 12 + len + 4;
    }
    out
}

fn varint(b: &[u8], at: &mut usize) -> u64 {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = b[*at];
        *at += 1;
        v |= ((byte & 0x7f) as u64) << shift;
        if byte < 0x80 {
            break;
        }
    }
    v
}

/// `(field, wire type, payload)` of each field of a protobuf message.
fn fields(b: &[u8]) -> Vec<(u64, u64, &[u8])> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < b.len() {
        let key = varint(b, &mut at);
        let start = at;
        let end = match key & 7 {
            0 => {
                varint(b, &mut at);
                at
            }
            1 => at + 8,
            5 => at + 4,
            2 => {
                let len = varint(b, &mut at) as usize;
                at + len
            }
            t => panic!("wire type {t}"),
        };
        let payload = if key & 7 == 2 {
            &b[at..end]
        } else {
            &b[start..end]
        };
        out.push((key >> 3, key & 7, payload));
        at = end;
    }
    out
}

fn decode(data: &[u8]) -> Event {
    let mut event = Event {
        step: 0,
        file_version: None,
        values: Vec::new(),
    };
    for (field, _, payload) in fields(data) {
        match field {
            1 => assert_eq!(payload.len(), 8, "wall_time is a double"),
            2 => event.step = varint(payload, &mut 0),
            3 => event.file_version = Some(String::from_utf8(payload.to_vec()).unwrap()),
            5 => {
                for (f, _, value) in fields(payload) {
                    assert_eq!(f, 1, "Summary.value");
                    let mut tag = String::new();
                    let mut simple = None;
                    for (vf, _, p) in fields(value) {
                        match vf {
                            1 => tag = String::from_utf8(p.to_vec()).unwrap(),
                            2 => simple = Some(f32::from_le_bytes(p.try_into().unwrap())),
                            other => panic!("Value field {other}"),
                        }
                    }
                    event.values.push((tag, simple.expect("simple_value")));
                }
            }
            other => panic!("Event field {other}"),
        }
    }
    event
}

/// The one event file in `variant/tb/`.
fn event_file(variant: &Path) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(variant.join("tb"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_str().unwrap();
    assert!(name.starts_with("events.out.tfevents."), "{name}");
    files[0].clone()
}

/// Checks that `variant`'s event file holds exactly metrics.csv: the version record, then one
/// event per row with the row's step and a value per column after `step`, in order. Returns
/// the steps.
fn assert_mirrors_metrics(variant: &Path) -> Vec<u64> {
    let bytes = std::fs::read(event_file(variant)).unwrap();
    let events: Vec<Event> = records(&bytes).into_iter().map(decode).collect();
    assert_eq!(events[0].file_version.as_deref(), Some("brain.Event:2"));
    let text = std::fs::read_to_string(variant.join("metrics.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(events.len(), 1 + rows.len(), "{events:?}");
    for (event, row) in events[1..].iter().zip(&rows) {
        assert_eq!(event.step.to_string(), row[0]);
        let expected: Vec<(String, f32)> = header[1..]
            .iter()
            .zip(&row[1..])
            .map(|(tag, v)| (tag.to_string(), v.parse::<f64>().unwrap() as f32))
            .collect();
        assert_eq!(event.values, expected, "step {}", row[0]);
    }
    events[1..].iter().map(|e| e.step).collect()
}

#[test]
fn every_variant_gets_an_event_file_holding_its_metrics_csv() {
    let results = tempfile::tempdir().unwrap();
    let dir = run_tiny(results.path(), &[]);
    for variant in ["baseline", "bn"] {
        let steps = assert_mirrors_metrics(&dir.join(variant));
        assert_eq!(steps, [20, 40, 60]);
    }
}

#[test]
fn output_tensorboard_false_writes_none_and_metrics_csv_is_the_same_bytes() {
    let results = tempfile::tempdir().unwrap();
    let with = run_tiny(&results.path().join("with"), &[]);
    let without = run_tiny(
        &results.path().join("without"),
        &["output.tensorboard=false"],
    );
    for variant in ["baseline", "bn"] {
        assert!(!without.join(variant).join("tb").exists());
        assert_eq!(
            std::fs::read(with.join(variant).join("metrics.csv")).unwrap(),
            std::fs::read(without.join(variant).join("metrics.csv")).unwrap(),
        );
    }
}

#[test]
fn a_resumed_variant_has_one_event_file_without_stale_or_repeated_steps() {
    let results = tempfile::tempdir().unwrap();
    let dir = run_tiny(results.path(), &[]);
    let bn = dir.join("bn");
    let before = event_file(&bn);
    let metrics = std::fs::read(bn.join("metrics.csv")).unwrap();
    // As if killed after the step-40 checkpoint: the resume writes step 60 again.
    std::fs::remove_file(bn.join("result.json")).unwrap();
    let out = run(&["resume", dir.to_str().unwrap(), "-q"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(bn.join("metrics.csv")).unwrap(), metrics);
    let after = event_file(&bn);
    assert!(after > before, "{after:?} sorts after {before:?}");
    assert_eq!(assert_mirrors_metrics(&bn), [20, 40, 60]);
}

#[test]
fn a_file_where_the_tb_folder_goes_stops_the_resume_naming_it_and_loses_nothing() {
    let results = tempfile::tempdir().unwrap();
    let dir = run_tiny(results.path(), &[]);
    let bn = dir.join("bn");
    let metrics = std::fs::read(bn.join("metrics.csv")).unwrap();
    std::fs::remove_file(bn.join("result.json")).unwrap();
    std::fs::remove_dir_all(bn.join("tb")).unwrap();
    std::fs::write(bn.join("tb"), b"not a folder").unwrap();
    let out = run(&["resume", dir.to_str().unwrap(), "-q"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(&bn.join("tb").display().to_string()), "{err}");
    assert!(err.contains("output.tensorboard = false"), "{err}");
    // Once it is out of the way, the resume ends as the uninterrupted run did.
    std::fs::remove_file(bn.join("tb")).unwrap();
    let out = run(&["resume", dir.to_str().unwrap(), "-q"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(bn.join("metrics.csv")).unwrap(), metrics);
    assert_mirrors_metrics(&bn);
}
