//! Results shared between the variants of one run (canvases' proposals, the pre-trained and
//! the fine-tuned CNN), stored under `<run dir>/cache/<stage>-<digest>/`. The digest covers
//! every setting that determines the stage (and the digests of the stages it builds on), so a
//! variant with different settings computes its own, and a variant with the same ones reuses
//! the result instead of spending minutes on the same computation. A stage is complete when
//! its `done.json` exists (written last, atomically); a resumed run continues an incomplete
//! training stage from its checkpoints, so the result is the same as an uninterrupted run's.

use std::path::{Path, PathBuf};

use crate::util::fs::write_atomic;
use crate::util::hash::sha256_bytes;

/// A stage's directory, keyed by a digest of `key` (any text naming all its inputs).
pub struct Stage {
    pub dir: PathBuf,
    pub digest: String,
}

impl Stage {
    pub fn new(run_dir: &Path, name: &str, key: &str) -> anyhow::Result<Self> {
        let digest = sha256_bytes(key.as_bytes())[..16].to_string();
        let dir = run_dir.join("cache").join(format!("{name}-{digest}"));
        std::fs::create_dir_all(&dir)?;
        Ok(Self { dir, digest })
    }

    fn marker(&self) -> PathBuf {
        self.dir.join("done.json")
    }

    /// What the completed stage recorded, if it is complete.
    pub fn done<T: serde::de::DeserializeOwned>(&self) -> anyhow::Result<Option<T>> {
        let path = self.marker();
        if !path.exists() {
            return Ok(None);
        }
        let bytes = std::fs::read(&path)?;
        Ok(Some(serde_json::from_slice(&bytes).map_err(|e| {
            anyhow::anyhow!("corrupt cache marker {}: {e}", path.display())
        })?))
    }

    /// Marks the stage complete with `record` (after everything else it holds is written).
    pub fn finish<T: serde::Serialize>(&self, record: &T) -> anyhow::Result<()> {
        write_atomic(&self.marker(), &serde_json::to_vec_pretty(record)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stage_is_found_by_its_settings_and_complete_once_finished() {
        let run = tempfile::tempdir().unwrap();
        let a = Stage::new(run.path(), "pretrain", "steps=10").unwrap();
        let b = Stage::new(run.path(), "pretrain", "steps=20").unwrap();
        assert_ne!(a.dir, b.dir, "different settings, different stages");
        assert_eq!(a.done::<u32>().unwrap(), None);
        a.finish(&7u32).unwrap();
        let again = Stage::new(run.path(), "pretrain", "steps=10").unwrap();
        assert_eq!(again.dir, a.dir);
        assert_eq!(again.done::<u32>().unwrap(), Some(7));
        assert_eq!(b.done::<u32>().unwrap(), None);
    }
}
