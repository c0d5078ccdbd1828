//! Running a loaded spec into a run directory, variant by variant, and resuming one.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use burn::prelude::*;

use crate::config::{self, LoadedSpec, Variant};
use crate::data::DataOptions;
use crate::kinds::{self, Context, Datasets, KindResult};
use crate::run::finished;
use crate::run::manifest::{self, Manifest};
use crate::run::progress::{self, Mode, VariantProgress};
use crate::run::progress_file::{ProgressFile, Tee};
use crate::run::run_dir;
use crate::run::summary::{self, SummaryRow, Value};
use crate::train::Observer;
use crate::train::Status;
use crate::train::metrics::{self, EvalRow};
use crate::util::fs::FileLock;
use crate::util::table::Column;
use crate::{bail_user, user_error};

pub struct RunOptions {
    pub results: PathBuf,
    pub data: DataOptions,
    /// Overrides every variant's `device`.
    pub device: Option<String>,
    pub mode: Mode,
    /// `runner resume --accept-edited-spec`: continue with a spec.toml edited since the run
    /// started instead of refusing (see [`Manifest::check_spec`]).
    pub accept_edited_spec: bool,
    /// Also keep this file up to date with where the run stands (a sweep cell's
    /// [`FILE`](crate::run::progress_file::FILE), which the sweep shows live).
    pub progress_file: Option<PathBuf>,
}

/// What a finished run hands back to the CLI.
pub struct RunReport {
    pub dir: PathBuf,
    pub rows: Vec<SummaryRow>,
    /// Mean and std over variants that differ only in their seed (`summary_seeds.csv`);
    /// empty when no two variants do.
    pub seed_rows: Vec<SummaryRow>,
    /// The kind's own summary columns, for the end-of-run table.
    pub columns: &'static [Column],
}

/// The lock file in a run dir. `run`, `resume` and `run-cell` hold an exclusive lock on it for
/// their whole session, so two processes never write one run at once.
pub const LOCK_FILE: &str = ".lock";

/// A run dir's lock, held until dropped (or the process ends, however it ends).
pub struct RunLock {
    dir: PathBuf,
    _lock: FileLock,
}

/// The error when another process holds a run dir's lock; the CLI exits 75 (EX_TEMPFAIL) on it,
/// like a sweep cell held elsewhere.
#[derive(Debug)]
pub struct Busy {
    pub dir: PathBuf,
}

impl fmt::Display for Busy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "run {} is in use by another runner process (a `run`, `resume` or `run-cell` holds \
             {}); nothing to do. Wait for that process to finish, or stop it and resume again",
            self.dir.display(),
            self.dir.join(LOCK_FILE).display()
        )
    }
}

impl std::error::Error for Busy {}

/// Takes run dir `dir`'s lock, waiting a moment; a [`Busy`] error when another process has it.
pub fn lock(dir: &Path) -> anyhow::Result<RunLock> {
    match crate::util::fs::try_lock(&dir.join(LOCK_FILE), Duration::from_secs(1))? {
        Some(lock) => Ok(RunLock {
            dir: dir.to_path_buf(),
            _lock: lock,
        }),
        None => Err(Busy {
            dir: dir.to_path_buf(),
        }
        .into()),
    }
}

pub fn start(loaded: &LoadedSpec, opts: &RunOptions) -> anyhow::Result<RunReport> {
    let datasets = preload(loaded, opts)?;
    let dir = run_dir::create(&opts.results, loaded.name())?;
    // Before anything is written: a `resume` of this dir waits for no half-made run.
    let _lock = lock(&dir)?;
    let spec = resolved_header(loaded)?;
    crate::util::fs::write_atomic(&dir.join("spec.toml"), spec.as_bytes())?;
    let manifest = Manifest::new(
        backend_name(loaded, opts),
        loaded.source.as_deref(),
        datasets.files(),
        datasets.sources(),
        spec.as_bytes(),
    );
    manifest.write(&dir)?;
    progress::note(opts.mode, &format!("run directory: {}", dir.display()));
    execute(loaded, &dir, manifest, &datasets, opts)
}

pub fn resume(dir: &Path, opts: &RunOptions) -> anyhow::Result<RunReport> {
    if !dir.join("spec.toml").exists() {
        bail_user!("{} is not a run directory (no spec.toml)", dir.display());
    }
    resume_locked(&lock(dir)?, opts)
}

/// [`resume`] of the run dir whose lock the caller holds.
pub fn resume_locked(lock: &RunLock, opts: &RunOptions) -> anyhow::Result<RunReport> {
    let dir = lock.dir.as_path();
    let spec_path = dir.join("spec.toml");
    if !spec_path.exists() {
        bail_user!("{} is not a run directory (no spec.toml)", dir.display());
    }
    let mut manifest = Manifest::read(dir)?;
    let spec = manifest.check_spec(dir, opts.accept_edited_spec, opts.mode)?;
    let mut loaded = kinds::load_str(&spec, &spec_path.display().to_string(), &[])?;
    loaded.source = Some(spec_path);
    let datasets = preload(&loaded, opts)?;
    let now: Vec<(String, String)> = datasets.files();
    if let Err(why) = same_data(&manifest.datasets, &now) {
        bail_user!(
            "the dataset files differ from those this run started with ({why}; see {}); \
             resuming would mix data — start a new run instead",
            dir.join("manifest.json").display()
        );
    }
    if now != manifest.datasets {
        progress::note(
            opts.mode,
            "the dataset files are found at another place than the run started with, \
             with the same SHA-256 each: resuming on them",
        );
    }
    manifest.resumed.push(manifest::now());
    manifest.finished = None;
    manifest.write(dir)?;
    progress::note(opts.mode, &format!("resuming {}", dir.display()));
    execute(&loaded, dir, manifest, &datasets, opts)
}

/// Whether the files read now hold the same bytes as those a run started with, wherever
/// they lie: a run dir copied to another machine, or resumed from another clone or with
/// another `--data-dir`, reads the same data from another path. Compared by SHA-256, so a
/// file of the same name with other bytes is caught; the error names the first such file.
fn same_data(started: &[(String, String)], now: &[(String, String)]) -> Result<(), String> {
    let now_shas: std::collections::BTreeSet<&str> = now.iter().map(|(_, s)| s.as_str()).collect();
    let started_shas: std::collections::BTreeSet<&str> =
        started.iter().map(|(_, s)| s.as_str()).collect();
    if let Some((file, _)) = started.iter().find(|(_, s)| !now_shas.contains(s.as_str())) {
        return Err(format!("no file read now has the bytes of {file}"));
    }
    if let Some((file, _)) = now.iter().find(|(_, s)| !started_shas.contains(s.as_str())) {
        return Err(format!("{file} was not read when the run started"));
    }
    Ok(())
}

fn resolved_header(loaded: &LoadedSpec) -> anyhow::Result<String> {
    let origin = loaded
        .source
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "<string>".into());
    Ok(format!(
        "# Resolved by runner {} from {origin}: every default and override spelled out.\n\
         # `runner resume` reads this file; `runner run` accepts it as a spec.\n\n{}",
        env!("CARGO_PKG_VERSION"),
        loaded.to_toml()?
    ))
}

fn preload(loaded: &LoadedSpec, opts: &RunOptions) -> anyhow::Result<Datasets> {
    let mut datasets = Datasets::new(opts.data.clone());
    for v in &loaded.variants {
        datasets.preload(&v.spec.data)?;
        for extra in (kinds::find(&v.spec.kind)?.extra_datasets)(&v.spec) {
            datasets.preload(&extra)?;
        }
    }
    Ok(datasets)
}

fn backend_name(loaded: &LoadedSpec, opts: &RunOptions) -> String {
    opts.device
        .clone()
        .unwrap_or_else(|| loaded.first().device.clone())
}

fn execute(
    loaded: &LoadedSpec,
    dir: &Path,
    mut manifest: Manifest,
    datasets: &Datasets,
    opts: &RunOptions,
) -> anyhow::Result<RunReport> {
    let mut rows = Vec::new();
    // Evaluations of the variants trained now; those finished in an earlier session have theirs
    // in metrics.csv.
    let mut histories: Vec<Option<Vec<EvalRow>>> = Vec::new();
    let count = loaded.variants.len();
    for (index, variant) in loaded.variants.iter().enumerate() {
        let vdir = run_dir::variant_dir(dir, &variant.name)?;
        if finished::claims_done(&vdir) {
            match finished::read(&vdir) {
                Ok(row) => {
                    rows.push(row);
                    histories.push(None);
                    continue;
                }
                Err(why) => eprintln!(
                    "warning: variant {}: {why}; training it again from its newest intact \
                     checkpoint (deterministic: the same results)",
                    variant.name
                ),
            }
        }
        crate::util::fs::create_dir_all(&vdir)?;
        let name = opts.device.as_deref().unwrap_or(&variant.spec.device);
        let device = make_device(name)?.autodiff();
        let mut observer = VariantProgress::new(
            opts.mode,
            &variant.name,
            index,
            count,
            variant.spec.train.steps,
            0,
        );
        let mut file = opts.progress_file.as_deref().map(|path| {
            ProgressFile::new(path, &variant.name, index, count, variant.spec.train.steps)
        });
        let mut tee;
        let observer_here: &mut dyn Observer = match &mut file {
            Some(file) => {
                tee = Tee(&mut observer, file);
                &mut tee
            }
            None => &mut observer,
        };
        let mut ctx = Context {
            device,
            dir: vdir.clone(),
            observer: observer_here,
            datasets,
        };
        let result = (kinds::find(&variant.spec.kind)?.run)(&variant.spec, &mut ctx)?;
        let row = summary_row(variant, &result);
        observer.finish(&row.text("status"));
        finished::write(&vdir, &row)?;
        rows.push(row);
        histories.push(Some(result.outcome.history));
    }
    add_targets(loaded, dir, &mut rows, histories)?;
    summary::write_csv(&dir.join("summary.csv"), &rows)?;
    let seed_rows = summary::seed_rows(&rows, &variants_differing_in_seed(loaded));
    if !seed_rows.is_empty() {
        summary::write_csv(&dir.join("summary_seeds.csv"), &seed_rows)?;
    }
    manifest.finished = Some(manifest::now());
    manifest.write(dir)?;
    Ok(RunReport {
        dir: dir.to_path_buf(),
        rows,
        seed_rows,
        columns: kinds::find(&loaded.first().kind)?.columns,
    })
}

/// Groups of two or more variants whose resolved specs are equal except for `seed`, labelled
/// by the first member's name without a trailing seed suffix (`-s1`, `_seed2`, `.3`).
fn variants_differing_in_seed(loaded: &LoadedSpec) -> Vec<summary::SeedGroup> {
    let key = |v: &Variant| {
        let mut spec = v.spec.clone();
        spec.seed = 0;
        spec.to_table()
            .and_then(|t| Ok(toml::to_string(&t)?))
            .unwrap_or_default()
    };
    let mut groups: Vec<(String, summary::SeedGroup)> = Vec::new();
    for (i, v) in loaded.variants.iter().enumerate() {
        let k = key(v);
        match groups.iter_mut().find(|(gk, _)| *gk == k) {
            Some((_, g)) => {
                g.members.push(i);
                g.seeds.push(v.spec.seed);
            }
            None => groups.push((
                k,
                summary::SeedGroup {
                    label: strip_seed_suffix(&v.name).to_string(),
                    members: vec![i],
                    seeds: vec![v.spec.seed],
                },
            )),
        }
    }
    groups
        .into_iter()
        .map(|(_, g)| g)
        .filter(|g| g.members.len() > 1)
        .collect()
}

fn strip_seed_suffix(name: &str) -> &str {
    let digits = name.trim_end_matches(|c: char| c.is_ascii_digit());
    if digits.len() == name.len() {
        return name;
    }
    for suffix in ["-seed", "_seed", ".seed", "-s", "_s", ".s", "-", "_", "."] {
        if let Some(base) = digits.strip_suffix(suffix)
            && !base.is_empty()
        {
            return base;
        }
    }
    name
}

/// Adds each variant's target accuracy (a fixed one, or another variant's best, known once
/// every variant has finished) and the first evaluated step reaching it, after `best_step`.
fn add_targets(
    loaded: &LoadedSpec,
    dir: &Path,
    rows: &mut [SummaryRow],
    histories: Vec<Option<Vec<EvalRow>>>,
) -> anyhow::Result<()> {
    let best: HashMap<String, Option<f64>> = rows
        .iter()
        .map(|r| (r.text("variant"), r.number("best_test_accuracy")))
        .collect();
    for ((variant, row), history) in loaded.variants.iter().zip(rows).zip(histories) {
        let eval = &variant.spec.eval;
        let target = if !eval.target_variant.is_empty() {
            best.get(&eval.target_variant).copied().flatten()
        } else {
            (eval.target_accuracy > 0.0).then_some(eval.target_accuracy)
        };
        let reached = match target {
            None => None,
            Some(t) => {
                let history = match history {
                    Some(h) => h,
                    None => metrics::read(
                        &run_dir::variant_dir(dir, &variant.name)?.join("metrics.csv"),
                    )?,
                };
                history
                    .iter()
                    .find(|r| r.test_accuracy >= t)
                    .map(|r| r.step)
            }
        };
        row.insert_after("best_step", "target_accuracy", target);
        row.insert_after("target_accuracy", "steps_to_target", reached);
    }
    Ok(())
}

fn summary_row(variant: &Variant, result: &KindResult) -> SummaryRow {
    let o = &result.outcome;
    let mut row = SummaryRow::default();
    row.push("variant", variant.name.as_str());
    let (status, diverged_at) = match o.status {
        Status::Done => ("done", None),
        Status::Diverged { step } => ("diverged", Some(step)),
    };
    row.push("status", status);
    row.push("steps", o.steps_run);
    row.push("params", o.params);
    let last = o.history.last();
    row.push("final_test_accuracy", last.map(|r| r.test_accuracy));
    row.push("final_test_loss", last.map(|r| r.test_loss));
    row.push("final_train_accuracy", last.map(|r| r.train_accuracy));
    let best = o.history.iter().max_by(|a, b| {
        a.test_accuracy
            .total_cmp(&b.test_accuracy)
            .then(b.step.cmp(&a.step))
    });
    row.push("best_test_accuracy", best.map(|r| r.test_accuracy));
    row.push("best_step", best.map(|r| r.step));
    row.push("diverged_at_step", diverged_at);
    row.push("train_seconds", Value::Fixed(o.train_seconds, 3));
    let steps_per_sec = o.steps_run as f64 / o.train_seconds.max(1e-9);
    row.push("steps_per_sec", Value::Fixed(steps_per_sec, 1));
    for (k, v) in &result.extra {
        row.push(k, *v);
    }
    for (k, v) in &variant.paper {
        // As the spec writes it (`72.0` stays `72.0`).
        let value = match v {
            toml::Value::String(s) => Value::Text(s.clone()),
            other => Value::Text(other.to_string()),
        };
        row.push(&format!("paper_{k}"), value);
    }
    row
}

/// The burn device for a spec's `device` name, if this build has its backend.
pub fn make_device(name: &str) -> anyhow::Result<Device> {
    match name {
        #[cfg(feature = "flex")]
        "flex" => Ok(Device::flex()),
        #[cfg(feature = "wgpu")]
        "wgpu" => Ok(Device::wgpu(Default::default())),
        #[cfg(feature = "cuda")]
        "cuda" => Ok(Device::cuda(0)),
        #[allow(unreachable_patterns)]
        known if config::DEVICES.contains(&known) => Err(user_error!(
            "this runner was built without the `{name}` backend; rebuild with \
             `cargo build --release --features {name}`"
        )),
        other => Err(user_error!("{}", config::unknown_device(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::same_data;

    fn files(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(f, s)| (f.to_string(), s.to_string()))
            .collect()
    }

    #[test]
    fn the_same_bytes_at_another_path_are_the_same_data_and_other_bytes_are_named() {
        let started = files(&[("/a/mnist/train", "11"), ("/a/mnist/test", "22")]);
        let moved = files(&[("/b/mnist/test", "22"), ("/b/mnist/train", "11")]);
        assert_eq!(same_data(&started, &moved), Ok(()));
        let edited = files(&[("/a/mnist/train", "11"), ("/a/mnist/test", "33")]);
        assert_eq!(
            same_data(&started, &edited),
            Err("no file read now has the bytes of /a/mnist/test".into())
        );
        let more = files(&[
            ("/a/mnist/train", "11"),
            ("/a/mnist/test", "22"),
            ("/x", "44"),
        ]);
        assert_eq!(
            same_data(&started, &more),
            Err("/x was not read when the run started".into())
        );
    }
}
