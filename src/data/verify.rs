//! Checking a dataset's files against their published SHA-256s (`runner data verify`).

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::catalog::{DatasetSpec, Format, spec};
use super::locate::{DataOptions, Found, locate_spec};
use super::{cifar, idx};
use crate::util::hash::sha256_file;

/// How one file compared with the registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckStatus {
    /// Its SHA-256 is a published one.
    Match,
    /// Its SHA-256 is not the published one.
    Mismatch { expected: String },
    /// No checksum is published for this form of the file (a decompressed IDX file, an
    /// extracted CIFAR batch); `note` says what was checked instead.
    NoReference { note: String },
}

/// One file checked by [`verify`].
#[derive(Clone, Debug)]
pub struct FileCheck {
    pub path: PathBuf,
    pub sha256: String,
    pub status: CheckStatus,
}

/// The outcome of [`verify`]; the CLI prints each file and fails unless [`VerifyReport::ok`].
#[derive(Clone, Debug)]
pub struct VerifyReport {
    pub name: String,
    pub dir: PathBuf,
    pub files: Vec<FileCheck>,
}

impl VerifyReport {
    /// True when no file contradicts a published checksum.
    pub fn ok(&self) -> bool {
        !self
            .files
            .iter()
            .any(|f| matches!(f.status, CheckStatus::Mismatch { .. }))
    }
}

/// Checks the SHA-256 of every file of dataset `name`, where [`load`] would find it. A
/// missing dataset is an error; mismatches are reported, not errors.
///
/// [`load`]: super::load::load
pub fn verify(name: &str, opts: &DataOptions) -> Result<VerifyReport> {
    let spec = spec(name)?;
    let (dir, found) = locate_spec(spec, opts)?;
    let paths = match found {
        Found::Idx(paths) => paths.to_vec(),
        Found::CifarBins(paths) => paths,
        Found::CifarArchive(path) => vec![path],
    };
    let files = paths
        .into_iter()
        .map(|path| {
            let sha256 = sha256_file(&path)?;
            let status = check_file(spec, &path, &sha256)?;
            Ok(FileCheck {
                path,
                sha256,
                status,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(VerifyReport {
        name: spec.name.to_string(),
        dir,
        files,
    })
}

fn check_file(spec: &DatasetSpec, path: &Path, sha256: &str) -> Result<CheckStatus> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if let Some(fs) = spec.files.iter().find(|f| f.name == name) {
        return Ok(if fs.sha256 == sha256 || fs.also.contains(&sha256) {
            CheckStatus::Match
        } else {
            CheckStatus::Mismatch {
                expected: fs.sha256.to_string(),
            }
        });
    }
    let note = match spec.format {
        Format::Idx => {
            // A decompressed copy: the header and size are all that can be checked.
            if name.contains("images") {
                idx::read_images(path)?;
            } else {
                idx::read_labels(path)?;
            }
            "decompressed copy; no published checksum, IDX header and size checked".to_string()
        }
        Format::Cifar10 => {
            let len = std::fs::metadata(path)?.len();
            let want = (10_000 * cifar::RECORD_LEN) as u64;
            if len != want {
                return Ok(CheckStatus::Mismatch {
                    expected: format!("{want} bytes (found {len})"),
                });
            }
            "extracted batch; no published checksum, size checked".to_string()
        }
    };
    Ok(CheckStatus::NoReference { note })
}
