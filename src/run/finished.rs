//! A finished variant: its `result.json` (the summary row that marks it done) and, written
//! just before it, `finished.json`, the SHA-256s of result.json and of metrics.csv as the
//! variant left them. A resume skips a finished variant only while both still match; one
//! whose files were edited, garbled, deleted or replaced by links is trained again from its
//! newest intact checkpoint, saying so. Training is deterministic, so that restores the
//! bytes it finished with, rather than letting a changed history through as the run's.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::run::summary::SummaryRow;
use crate::util::fs::{join_inside, write_atomic};
use crate::util::hash::{sha256_bytes, sha256_file};

pub const RESULT: &str = "result.json";
const SEAL: &str = "finished.json";
const METRICS: &str = "metrics.csv";

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Seal {
    result_sha256: String,
    /// None for a kind that writes no metrics.csv.
    metrics_sha256: Option<String>,
}

/// The path of `vdir`'s result.json (which need not exist).
pub fn result_path(vdir: &Path) -> anyhow::Result<PathBuf> {
    join_inside(vdir, &[RESULT])
}

/// Whether `vdir` has a result.json, or something in its place: a variant that has finished,
/// or claims to.
pub fn claims_done(vdir: &Path) -> bool {
    result_path(vdir).map_or(true, |p| std::fs::symlink_metadata(p).is_ok())
}

/// Marks the variant in `vdir` finished with `row`: the seal, then result.json, each written
/// whole. Killed between the two, the variant is not done, and the next resume trains it again.
pub fn write(vdir: &Path, row: &SummaryRow) -> anyhow::Result<()> {
    let result = row.to_json_bytes()?;
    let seal = Seal {
        result_sha256: sha256_bytes(&result),
        metrics_sha256: metrics_sha256(vdir).map_err(anyhow::Error::msg)?,
    };
    write_atomic(
        &join_inside(vdir, &[SEAL])?,
        &serde_json::to_vec_pretty(&seal)?,
    )?;
    write_atomic(&result_path(vdir)?, &result)
}

/// The summary row of the finished variant in `vdir`, once its result.json and metrics.csv
/// are what it finished with; otherwise why not, in words naming the file.
pub fn read(vdir: &Path) -> Result<SummaryRow, String> {
    let err = |e: anyhow::Error| format!("{e:#}");
    let seal_path = join_inside(vdir, &[SEAL]).map_err(err)?;
    let seal: Seal = match std::fs::read(&seal_path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| format!("{} is unreadable: {e}", seal_path.display()))?,
        Err(e) => {
            return Err(format!(
                "{} cannot be read ({e}), so its results cannot be checked (damaged, or a run \
                 of an older runner)",
                seal_path.display()
            ));
        }
    };
    let result = result_path(vdir).map_err(err)?;
    // Read once, so the bytes checked are the bytes parsed.
    let bytes =
        std::fs::read(&result).map_err(|e| format!("{} cannot be read: {e}", result.display()))?;
    if sha256_bytes(&bytes) != seal.result_sha256 {
        return Err(format!(
            "{} is not what the variant finished with (its SHA-256 differs from the one {} \
             records)",
            result.display(),
            seal_path.display()
        ));
    }
    if metrics_sha256(vdir)? != seal.metrics_sha256 {
        return Err(format!(
            "{} is not what the variant finished with (missing, edited, or not the SHA-256 {} \
             records)",
            vdir.join(METRICS).display(),
            seal_path.display()
        ));
    }
    SummaryRow::from_json_bytes(&bytes, &result).map_err(err)
}

/// SHA-256 of `vdir`'s metrics.csv; None when there is none.
fn metrics_sha256(vdir: &Path) -> Result<Option<String>, String> {
    let path = join_inside(vdir, &[METRICS]).map_err(|e| format!("{e:#}"))?;
    if std::fs::symlink_metadata(&path).is_err() {
        return Ok(None);
    }
    sha256_file(&path).map(Some).map_err(|e| format!("{e:#}"))
}
