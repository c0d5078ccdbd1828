//! Checkpoints: model, optimizer and loop state in one directory per step, written under a
//! temporary name and renamed into place, so a kill at any moment leaves either the old set or
//! the new one — never a half-written checkpoint.
//!
//! The last file written into each is `files.json` ([`Seal`]): the SHA-256 of every other file
//! in it and of metrics.csv as it stood at that step. A resume takes the newest checkpoint that
//! still matches its seal, whose state is sane for the spec and whose metrics.csv rows are the
//! ones it was saved with ([`newest_intact`]); a damaged or edited one is passed over, saying
//! so, for the older one kept beside it, and with none left the variant starts again from step
//! 0. Training is deterministic, so either way the results are those of an uninterrupted run.
//!
//! The folder holds `step-NNNNNNNNNN` (a checkpoint) and `.tmp-step-NNNNNNNNNN` (one being
//! written) directories. Only entries with exactly these names, as [`step_name`] spells them,
//! are ever read or deleted; anything else in the folder is left alone.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::module::Module;
use burn::optim::ModuleOptimizer;
use serde::{Deserialize, Serialize};

use crate::util::fs::join_inside;
use crate::util::hash::sha256_file;
use crate::{bail_user, user_error};

pub(super) const MODEL: &str = "model.bpk";
const OPTIMIZER: &str = "optimizer.bpk";
const STATE: &str = "state.json";
pub(super) const SEAL: &str = "files.json";

/// `files.json`: what a checkpoint held when it was saved.
#[derive(Debug, Serialize, Deserialize)]
struct Seal {
    /// `file name -> SHA-256` of every other file in the checkpoint.
    files: BTreeMap<String, String>,
    /// SHA-256 of metrics.csv as it stood: its header and the rows up to this step.
    metrics_sha256: String,
}

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

const TMP: &str = ".tmp-";

pub fn dir(variant_dir: &Path) -> anyhow::Result<PathBuf> {
    join_inside(variant_dir, &["checkpoints"])
}

/// The folder name of the checkpoint after `step` steps.
fn step_name(step: u64) -> String {
    format!("step-{step:010}")
}

/// The step of a checkpoint folder named exactly as [`step_name`] names it.
fn parse_step_name(name: &str) -> Option<u64> {
    let step: u64 = name.strip_prefix("step-")?.parse().ok()?;
    (step_name(step) == name).then_some(step)
}

/// The checkpoint folder's entries that this module made.
struct Entries {
    /// `(step, path)` of the completed checkpoints, oldest first.
    done: Vec<(u64, PathBuf)>,
    /// Temporary checkpoints (left by a save that was killed).
    tmp: Vec<PathBuf>,
}

/// The entries of `root` that this module made; symbolic links and entries of any other name
/// are not ours and are left out.
fn entries(root: &Path) -> anyhow::Result<Entries> {
    let (mut done, mut tmp) = (Vec::new(), Vec::new());
    let read = fs::read_dir(root).with_context(|| format!("reading {}", root.display()))?;
    for e in read {
        let e = e.with_context(|| format!("reading {}", root.display()))?;
        if !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let Some(name) = e.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if let Some(step) = parse_step_name(&name) {
            done.push((step, join_inside(root, &[&name])?));
        } else if name.strip_prefix(TMP).and_then(parse_step_name).is_some() {
            tmp.push(join_inside(root, &[&name])?);
        }
    }
    done.sort();
    Ok(Entries { done, tmp })
}

/// The checkpoint folder, refusing one that is a symbolic link (writes and deletions would
/// happen wherever it points).
fn real_dir(variant_dir: &Path) -> anyhow::Result<PathBuf> {
    real_folder(variant_dir, "checkpoints", "checkpoints")
}

/// The folder `name` of `variant_dir` that holds the variant's `what` (which need not exist
/// yet), refusing one that is a symbolic link or not a directory.
pub(super) fn real_folder(variant_dir: &Path, name: &str, what: &str) -> anyhow::Result<PathBuf> {
    let root = join_inside(variant_dir, &[name])?;
    match fs::symlink_metadata(&root) {
        Ok(m) if m.file_type().is_symlink() => bail_user!(
            "{} is a symbolic link; {what} are only written into a real directory",
            root.display()
        ),
        Ok(m) if !m.is_dir() => bail_user!(
            "{} is not a directory; runner keeps this variant's {what} in a folder of that \
             name: move the file away and run again",
            root.display()
        ),
        _ => Ok(root),
    }
}

/// Saves the checkpoint of `state.step`; `metrics_sha256` is metrics.csv's hash as it stands
/// ([`crate::train::metrics::MetricsFile::sha256`]).
pub fn save<M: Module>(
    variant_dir: &Path,
    state: &LoopState,
    model: &M,
    optim: &ModuleOptimizer,
    keep: usize,
    metrics_sha256: &str,
    task_state: &dyn Fn(&Path) -> anyhow::Result<()>,
) -> anyhow::Result<PathBuf> {
    let root = real_dir(variant_dir)?;
    crate::util::fs::create_dir_all(&root)?;
    let name = step_name(state.step);
    let tmp = join_inside(&root, &[&format!("{TMP}{name}")])?;
    let removing = |p: &Path| format!("removing {}", p.display());
    if tmp.exists() {
        fs::remove_dir_all(&tmp).with_context(|| removing(&tmp))?;
    }
    fs::create_dir(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    save_record(model, &tmp.join(MODEL))?;
    let path = tmp.join(OPTIMIZER);
    optim
        .save(&path)
        .map_err(|e| user_error!("writing {}: {e}", path.display()))?;
    let path = tmp.join(STATE);
    fs::write(&path, serde_json::to_vec_pretty(state)?)
        .with_context(|| format!("writing {}", path.display()))?;
    task_state(&tmp)?;
    seal(&tmp, metrics_sha256)?;
    let done = join_inside(&root, &[&name])?;
    if done.exists() {
        fs::remove_dir_all(&done).with_context(|| removing(&done))?;
    }
    fs::rename(&tmp, &done).with_context(|| format!("publishing {}", done.display()))?;
    prune(&root, keep, state.step)?;
    Ok(done)
}

/// Writes `model`'s record (burnpack) to `path`.
pub(super) fn save_record<M: Module>(model: &M, path: &Path) -> anyhow::Result<()> {
    // Running statistics (batch norm's) take their last update lazily, when next read; a
    // module's record reads them without it. Settle them first, or the checkpoint of a step
    // that was not also evaluated (evaluation settles them) holds the statistics of the step
    // before, and a resume from it drifts from the uninterrupted run. Settling early changes
    // nothing else: the next read would have settled the same value.
    let _ = model.valid();
    model
        .clone()
        .save_file(path)
        .map_err(|e| user_error!("writing {}: {e}", path.display()))
}

/// Writes `files.json` into the checkpoint being written in `tmp`, after every other file.
fn seal(tmp: &Path, metrics_sha256: &str) -> anyhow::Result<()> {
    let seal = Seal {
        files: file_hashes(tmp)?,
        metrics_sha256: metrics_sha256.to_string(),
    };
    let path = tmp.join(SEAL);
    fs::write(&path, serde_json::to_vec_pretty(&seal)?)
        .with_context(|| format!("writing {}", path.display()))
}

/// `file name -> SHA-256` of every plain file in `dir`.
pub(super) fn file_hashes(dir: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let tmp = dir;
    let mut files = BTreeMap::new();
    let reading = || format!("reading {}", tmp.display());
    for e in fs::read_dir(tmp).with_context(reading)? {
        let e = e.with_context(reading)?;
        if !e.file_type().with_context(reading)?.is_file() {
            continue;
        }
        let Some(name) = e.file_name().to_str().map(str::to_string) else {
            anyhow::bail!("{}: a file name that is not UTF-8", tmp.display());
        };
        let sha = sha256_file(&e.path())?;
        files.insert(name, sha);
    }
    Ok(files)
}

/// The newest checkpoint of the variant in `variant_dir` that [`verify`] passes, with its
/// loop state; `None` when there is none, and the variant starts from step 0. Every checkpoint
/// passed over is named on stderr with the reason, and so is what the variant does instead.
pub fn newest_intact(
    variant_dir: &Path,
    total_steps: u64,
    metrics_sha256: &dyn Fn(u64) -> String,
) -> anyhow::Result<Option<(PathBuf, LoopState)>> {
    let mut passed_over = false;
    for ck in list(variant_dir)?.into_iter().rev() {
        match verify(&ck, total_steps, metrics_sha256) {
            Ok(state) => {
                if passed_over {
                    eprintln!(
                        "warning: resuming from the older checkpoint {} instead",
                        ck.display()
                    );
                }
                return Ok(Some((ck, state)));
            }
            Err(why) => {
                eprintln!("warning: not resuming from {}: {why}", ck.display());
                passed_over = true;
            }
        }
    }
    if passed_over {
        eprintln!(
            "warning: no intact checkpoint is left in {}: this variant starts again from step 0 \
             (its results are those of an uninterrupted run; only the time is lost)",
            dir(variant_dir)?.display()
        );
    }
    Ok(None)
}

/// Checks the checkpoint folder `checkpoint` before a resume trusts it: every file matches the
/// SHA-256 its `files.json` records, its state is that of a step this spec's loop checkpoints
/// (`1..total_steps`, the step in its folder's name) with sane running sums, and metrics.csv
/// (`metrics_sha256` of its rows up to a step) holds the rows it was saved with. The loop state,
/// or why the checkpoint cannot be used, in words.
pub fn verify(
    checkpoint: &Path,
    total_steps: u64,
    metrics_sha256: &dyn Fn(u64) -> String,
) -> Result<LoopState, String> {
    let named = checkpoint
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(parse_step_name)
        .ok_or("its folder is not named as runner names checkpoints")?;
    let seal_path = checkpoint.join(SEAL);
    let seal: Seal = match fs::read(&seal_path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!(
                "it has no {SEAL} (the SHA-256s of its files, written last: an empty or \
                 incomplete folder, or a checkpoint of an older runner)"
            ));
        }
        Err(e) => return Err(format!("cannot read its {SEAL}: {e}")),
        Ok(bytes) => {
            serde_json::from_slice(&bytes).map_err(|e| format!("its {SEAL} is unreadable: {e}"))?
        }
    };
    for required in [MODEL, OPTIMIZER, STATE] {
        if !seal.files.contains_key(required) {
            return Err(format!("its {SEAL} does not list {required}"));
        }
    }
    check_hashes(checkpoint, &seal.files)?;
    let state: LoopState = fs::read(checkpoint.join(STATE))
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
        .map_err(|e| format!("its {STATE} is unreadable: {e}"))?;
    if state.step != named {
        return Err(format!(
            "its {STATE} says step {}, its folder's name step {named}",
            state.step
        ));
    }
    if !(1..total_steps).contains(&state.step) {
        return Err(format!(
            "it is at step {}, but with train.steps = {total_steps} the loop checkpoints only \
             steps 1 to {}",
            state.step,
            total_steps.saturating_sub(1)
        ));
    }
    let sums = [
        state.loss_sum,
        state.correct,
        state.seen,
        state.train_seconds,
    ];
    if sums.iter().any(|v| !v.is_finite() || *v < 0.0) || state.correct > state.seen {
        return Err(format!(
            "its {STATE} holds impossible running sums (negative, not finite, or more correct \
             than seen)"
        ));
    }
    if metrics_sha256(state.step) != seal.metrics_sha256 {
        return Err(format!(
            "metrics.csv does not hold the rows up to step {} that it was saved with (rows \
             missing, edited, or written under other settings)",
            state.step
        ));
    }
    Ok(state)
}

/// Checks that every file `files` lists in `dir` has the SHA-256 recorded for it; the name
/// of the first that is missing, not a plain name, or different, in words.
pub(super) fn check_hashes(dir: &Path, files: &BTreeMap<String, String>) -> Result<(), String> {
    for (name, expected) in files {
        let path = join_inside(dir, &[name])
            .map_err(|e| format!("its {SEAL} lists `{}`: {e:#}", name.escape_debug()))?;
        match sha256_file(&path) {
            Err(_) if !path.exists() => return Err(format!("{name} is missing")),
            Err(e) => return Err(format!("{e:#}")),
            Ok(sha) if sha != *expected => {
                return Err(format!(
                    "{name} does not match the SHA-256 its {SEAL} records (damaged or edited)"
                ));
            }
            Ok(_) => {}
        }
    }
    Ok(())
}

/// The checkpoint of `step` in `variant_dir`, once every file its `files.json` lists matches
/// its SHA-256 and `required` are among them: for reading its model outside a resume.
pub fn sealed_at(variant_dir: &Path, step: u64, required: &[&str]) -> anyhow::Result<PathBuf> {
    let ck = join_inside(&real_dir(variant_dir)?, &[&step_name(step)])?;
    if !ck.is_dir() {
        let kept: Vec<String> = list(variant_dir)?
            .iter()
            .filter_map(|p| p.file_name()?.to_str().and_then(parse_step_name))
            .map(|s| s.to_string())
            .collect();
        bail_user!(
            "{} has no checkpoint of step {step}; kept: {}",
            dir(variant_dir)?.display(),
            if kept.is_empty() {
                "none".to_string()
            } else {
                kept.join(", ")
            }
        );
    }
    let seal_path = ck.join(SEAL);
    let seal: Seal = fs::read(&seal_path)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
        .map_err(|e| user_error!("{}: unreadable: {e}", seal_path.display()))?;
    for r in [MODEL].iter().chain(required) {
        if !seal.files.contains_key(*r) {
            bail_user!("{}: does not list {r}", seal_path.display());
        }
    }
    check_hashes(&ck, &seal.files).map_err(|why| user_error!("{}: {why}", ck.display()))?;
    Ok(ck)
}

/// Completed checkpoints, oldest first.
pub fn list(variant_dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let root = real_dir(variant_dir)?;
    if !root.exists() {
        return Ok(Vec::new());
    }
    Ok(entries(&root)?.done.into_iter().map(|(_, p)| p).collect())
}

/// Deletes the temporary checkpoints left by a killed save and all but the newest `keep`
/// completed ones up to step `now`; nothing else. Checkpoints past `now` (ones a resume passed
/// over as damaged) are neither counted nor deleted here: the loop replaces each when it saves
/// that step again, and until then the newest `keep` good ones stay beside them.
fn prune(root: &Path, keep: usize, now: u64) -> anyhow::Result<()> {
    let Entries { done, tmp } = entries(root)?;
    for p in tmp {
        fs::remove_dir_all(&p).with_context(|| format!("removing {}", p.display()))?;
    }
    let past: Vec<&PathBuf> = done
        .iter()
        .filter(|(step, _)| *step <= now)
        .map(|(_, p)| p)
        .collect();
    for p in &past[..past.len().saturating_sub(keep)] {
        fs::remove_dir_all(p).with_context(|| format!("removing {}", p.display()))?;
    }
    Ok(())
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
        .map_err(|e| user_error!("cannot load checkpoint {}: {e}", model_path.display()))?;
    let optim_path = checkpoint.join(OPTIMIZER);
    let optim = optim
        .load(&optim_path)
        .map_err(|e| user_error!("cannot load checkpoint {}: {e}", optim_path.display()))?;
    Ok((model, optim))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_entries_named_as_this_module_names_them_are_listed_or_pruned() {
        let tmp = tempfile::tempdir().unwrap();
        let root = dir(tmp.path()).unwrap();
        let ours = [
            step_name(20),
            step_name(40),
            step_name(60),
            step_name(12_345_678_901),
        ];
        let stale = format!("{TMP}{}", step_name(80));
        let foreign = [
            "notes",
            "step-1",
            "step-00000000x0",
            "step-000000002",
            "step-+000000020",
            ".tmp-other",
            ".tmp-step-1",
            "keep-me.step-0000000020",
        ];
        for n in ours
            .iter()
            .map(String::as_str)
            .chain([stale.as_str()])
            .chain(foreign)
        {
            fs::create_dir_all(root.join(n)).unwrap();
        }
        // A file with a checkpoint's name, and a link to a directory outside: not ours either.
        fs::write(root.join(step_name(1)), "x").unwrap();
        let outside = tempfile::tempdir().unwrap();
        fs::create_dir(outside.path().join("precious")).unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join(step_name(2))).unwrap();

        let listed: Vec<String> = list(tmp.path())
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(listed, ours);

        prune(&root, 2, u64::MAX).unwrap();
        let mut left: Vec<String> = fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let mut expected: Vec<String> = foreign.iter().map(|s| s.to_string()).collect();
        expected.extend([
            step_name(1),
            step_name(2),
            step_name(60),
            step_name(12_345_678_901),
        ]);
        expected.sort();
        assert_eq!(left, expected);
        assert!(outside.path().join("precious").is_dir());
    }

    #[test]
    fn a_checkpoint_folder_that_is_a_symlink_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), tmp.path().join("checkpoints")).unwrap();
        let err = list(tmp.path()).unwrap_err().to_string();
        assert!(err.contains("is a symbolic link"), "{err}");
    }
}
