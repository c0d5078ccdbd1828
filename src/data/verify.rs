//! Checking a dataset's files against their published SHA-256s: every file at load (see
//! [`load`]), and on request with `runner data verify`.
//!
//! [`load`]: super::load::load

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::catalog::{DatasetSpec, Format, spec};
use super::locate::{DataOptions, locate_spec};
use super::{cifar, idx};
use crate::util::hash::sha256_file;

/// How one file compared with the registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckStatus {
    /// Its SHA-256 is a published one.
    Match,
    /// Its SHA-256 (or size) is not the published one.
    Mismatch { expected: String },
    /// No checksum is known for this form of the file (a decompressed IDX file of a dataset
    /// without decompressed checksums, an extracted CIFAR batch): it is not verified; `note`
    /// says what was checked instead.
    NoReference { note: String },
}

impl fmt::Display for CheckStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckStatus::Match => f.write_str("ok"),
            CheckStatus::Mismatch { expected } => write!(f, "MISMATCH (expected {expected})"),
            CheckStatus::NoReference { note } => write!(f, "NOT VERIFIED ({note})"),
        }
    }
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
    /// True when every file matched a published checksum: a file that cannot be checked is
    /// not a verified one.
    pub fn ok(&self) -> bool {
        self.files.iter().all(|f| f.status == CheckStatus::Match)
    }

    /// True when some file contradicts a published checksum.
    pub fn mismatched(&self) -> bool {
        self.files
            .iter()
            .any(|f| matches!(f.status, CheckStatus::Mismatch { .. }))
    }
}

/// The SHA-256s the registry accepts for a dataset file, by the name it was found under.
pub(super) struct Reference {
    /// The one to name in messages: the canonical download's.
    pub expected: &'static str,
    accepted: Vec<&'static str>,
}

impl Reference {
    pub fn accepts(&self, sha256: &str) -> bool {
        self.accepted.contains(&sha256)
    }
}

/// What file `path` of dataset `spec` must hash to: the published SHA-256s for a file under
/// its distributed name, the decompressed SHA-256 for an IDX file under the name without
/// `.gz`; `None` when the registry knows no checksum for it.
pub(super) fn reference(spec: &DatasetSpec, path: &Path) -> Option<Reference> {
    let name = path.file_name()?.to_str()?;
    spec.files.iter().find_map(|f| {
        if f.name == name {
            let mut accepted = vec![f.sha256];
            accepted.extend_from_slice(f.also);
            Some(Reference {
                expected: f.sha256,
                accepted,
            })
        } else if f.name.strip_suffix(".gz") == Some(name) {
            f.decompressed.map(|raw| Reference {
                expected: raw,
                accepted: vec![raw],
            })
        } else {
            None
        }
    })
}

/// Checks the SHA-256 of every file of dataset `name`, where [`load`] would find it (hashing
/// each afresh). A missing dataset is an error; mismatches are reported, not errors.
///
/// [`load`]: super::load::load
pub fn verify(name: &str, opts: &DataOptions) -> Result<VerifyReport> {
    let spec = spec(name)?;
    let (_, dir, found) = locate_spec(spec, opts)?;
    let files = found
        .paths()
        .into_iter()
        .map(|path| {
            let status = check_structure(spec, &path)?;
            let sha256 = sha256_file(&path)?;
            let status = match (status, reference(spec, &path)) {
                (Some(bad), _) => bad,
                (None, Some(r)) if r.accepts(&sha256) => CheckStatus::Match,
                (None, Some(r)) => CheckStatus::Mismatch {
                    expected: r.expected.to_string(),
                },
                (None, None) => CheckStatus::NoReference {
                    note: no_reference_note(spec),
                },
            };
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

/// Reads what can be checked without a checksum: a decompressed IDX file's header and size
/// (an error naming the file when wrong), an extracted CIFAR batch's size (a mismatch).
fn check_structure(spec: &DatasetSpec, path: &Path) -> Result<Option<CheckStatus>> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if spec.files.iter().any(|f| f.name == name) {
        return Ok(None);
    }
    match spec.format {
        Format::Idx => {
            if name.contains("images") {
                idx::read_images(path)?;
            } else {
                idx::read_labels(path)?;
            }
            Ok(None)
        }
        Format::Cifar10 => {
            let len = std::fs::metadata(path)?.len();
            let want = (10_000 * cifar::RECORD_LEN) as u64;
            Ok((len != want).then(|| CheckStatus::Mismatch {
                expected: format!("{want} bytes (found {len})"),
            }))
        }
    }
}

fn no_reference_note(spec: &DatasetSpec) -> String {
    match spec.format {
        Format::Idx => format!(
            "decompressed copy; no checksum of it is known, only its IDX header and size were \
             checked; keep the .gz files as distributed (`runner data fetch {}`) to verify",
            spec.name
        ),
        Format::Cifar10 => format!(
            "extracted batch; no checksum of it is published, only its size was checked; keep \
             {} (`runner data fetch {}`) to verify",
            cifar::ARCHIVE,
            spec.name
        ),
    }
}
