//! Checkpoints: model, optimizer and loop state in one directory per step, written under a
//! temporary name and renamed into place, so a kill at any moment leaves either the old set or
//! the new one — never a half-written checkpoint.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::module::Module;
use burn::optim::ModuleOptimizer;
use serde::{Deserialize, Serialize};

use crate::user_error;

const MODEL: &str = "model.bpk";
const OPTIMIZER: &str = "optimizer.bpk";
const STATE: &str = "state.json";

/// Loop state besides weights: enough to continue bit-identically.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct LoopState {
    /// Steps completed.
    pub step: u64,
    /// Training loss/accuracy accumulated since the last evaluation.
    pub loss_sum: f64,
    pub correct: f64,
    pub seen: f64,
    /// Seconds spent training before this checkpoint (for steps/s after a resume).
    pub train_seconds: f64,
}

pub fn dir(variant_dir: &Path) -> PathBuf {
    variant_dir.join("checkpoints")
}

pub fn save<M: Module>(
    variant_dir: &Path,
    state: &LoopState,
    model: &M,
    optim: &ModuleOptimizer,
    keep: usize,
    task_state: &dyn Fn(&Path) -> anyhow::Result<()>,
) -> anyhow::Result<PathBuf> {
    let root = dir(variant_dir);
    fs::create_dir_all(&root)?;
    let name = format!("step-{:010}", state.step);
    let tmp = root.join(format!(".tmp-{name}"));
    if tmp.exists() {
        fs::remove_dir_all(&tmp)?;
    }
    fs::create_dir(&tmp)?;
    model
        .clone()
        .save_file(tmp.join(MODEL))
        .map_err(|e| anyhow::anyhow!("writing model checkpoint: {e:?}"))?;
    optim
        .save(tmp.join(OPTIMIZER))
        .map_err(|e| anyhow::anyhow!("writing optimizer checkpoint: {e:?}"))?;
    fs::write(tmp.join(STATE), serde_json::to_vec_pretty(state)?)?;
    task_state(&tmp)?;
    let done = root.join(&name);
    if done.exists() {
        fs::remove_dir_all(&done)?;
    }
    fs::rename(&tmp, &done).context("publishing checkpoint")?;
    prune(&root, keep)?;
    Ok(done)
}

/// Completed checkpoints, oldest first.
pub fn list(variant_dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let root = dir(variant_dir);
    if !root.exists() {
        return Ok(Vec::new());
    }
    let mut found: Vec<PathBuf> = fs::read_dir(&root)?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("step-"))
        .map(|e| e.path())
        .collect();
    found.sort();
    Ok(found)
}

fn prune(root: &Path, keep: usize) -> anyhow::Result<()> {
    let mut all: Vec<PathBuf> = fs::read_dir(root)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    all.sort();
    let (done, stale): (Vec<PathBuf>, Vec<PathBuf>) = all.into_iter().partition(|p| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("step-"))
    });
    for p in stale {
        fs::remove_dir_all(p)?;
    }
    for p in &done[..done.len().saturating_sub(keep)] {
        fs::remove_dir_all(p)?;
    }
    Ok(())
}

pub fn read_state(checkpoint: &Path) -> anyhow::Result<LoopState> {
    let path = checkpoint.join(STATE);
    let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| user_error!("corrupt checkpoint state {}: {e}", path.display()))
}

/// Loads weights into `model` (whose structure must match) and optimizer state into `optim`.
pub fn restore<M: Module>(
    checkpoint: &Path,
    model: M,
    optim: ModuleOptimizer,
) -> anyhow::Result<(M, ModuleOptimizer)> {
    let model_path = checkpoint.join(MODEL);
    let model = model
        .try_load_file(&model_path)
        .map_err(|e| user_error!("cannot load checkpoint {}: {e:?}", model_path.display()))?;
    let optim_path = checkpoint.join(OPTIMIZER);
    let optim = optim
        .load(&optim_path)
        .map_err(|e| user_error!("cannot load checkpoint {}: {e:?}", optim_path.display()))?;
    Ok((model, optim))
}
