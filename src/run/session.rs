//! Running a loaded spec into a run directory, variant by variant, and resuming one.

use std::path::{Path, PathBuf};

use burn::prelude::*;

use crate::config::{LoadedSpec, Variant};
use crate::data::DataOptions;
use crate::kinds::{self, Context, Datasets, KindResult};
use crate::run::manifest::{self, Manifest};
use crate::run::progress::{self, Mode, VariantProgress};
use crate::run::run_dir;
use crate::run::summary::{self, SummaryRow};
use crate::train::{Status, metrics};
use crate::util::table::Column;
use crate::{bail_user, user_error};

pub struct RunOptions {
    pub results: PathBuf,
    pub data: DataOptions,
    /// Overrides every variant's `device`.
    pub device: Option<String>,
    pub mode: Mode,
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

pub fn start(loaded: &LoadedSpec, opts: &RunOptions) -> anyhow::Result<RunReport> {
    let datasets = preload(loaded, opts)?;
    let dir = run_dir::create(&opts.results, loaded.name())?;
    crate::util::fs::write_atomic(&dir.join("spec.toml"), resolved_header(loaded)?.as_bytes())?;
    let manifest = Manifest::new(
        backend_name(loaded, opts),
        loaded.source.as_deref(),
        datasets.files(),
    );
    manifest.write(&dir)?;
    progress::note(opts.mode, &format!("run directory: {}", dir.display()));
    execute(loaded, &dir, manifest, &datasets, opts)
}

pub fn resume(dir: &Path, opts: &RunOptions) -> anyhow::Result<RunReport> {
    let spec_path = dir.join("spec.toml");
    if !spec_path.exists() {
        bail_user!("{} is not a run directory (no spec.toml)", dir.display());
    }
    let mut manifest = Manifest::read(dir)?;
    let loaded = kinds::load_file(&spec_path, &[])?;
    let datasets = preload(&loaded, opts)?;
    let now: Vec<(String, String)> = datasets.files();
    if now != manifest.datasets {
        bail_user!(
            "the dataset files differ from those this run started with (see {}); \
             resuming would mix data — start a new run instead",
            dir.join("manifest.json").display()
        );
    }
    manifest.resumed.push(manifest::now());
    manifest.finished = None;
    manifest.write(dir)?;
    progress::note(opts.mode, &format!("resuming {}", dir.display()));
    execute(&loaded, dir, manifest, &datasets, opts)
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
    for variant in &loaded.variants {
        let vdir = dir.join(&variant.name);
        let done = vdir.join("result.json");
        if done.exists() {
            rows.push(SummaryRow::read(&done)?);
            continue;
        }
        std::fs::create_dir_all(&vdir)?;
        let name = opts.device.as_deref().unwrap_or(&variant.spec.device);
        let device = make_device(name)?.autodiff();
        let mut observer =
            VariantProgress::new(opts.mode, &variant.name, variant.spec.train.steps, 0);
        let mut ctx = Context {
            device,
            dir: vdir.clone(),
            observer: &mut observer,
            datasets,
        };
        let result = (kinds::find(&variant.spec.kind)?.run)(&variant.spec, &mut ctx)?;
        let row = summary_row(variant, &result);
        observer.finish(row.get("status").unwrap_or(""));
        row.write(&done)?;
        rows.push(row);
        summary::write_csv(&dir.join("summary.csv"), &rows)?;
    }
    targets_from_variants(loaded, dir, &mut rows)?;
    summary::write_csv(&dir.join("summary.csv"), &rows)?;
    let seed_rows = summary::seed_groups(&rows, &seed_groups(loaded));
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
fn seed_groups(loaded: &LoadedSpec) -> Vec<summary::SeedGroup> {
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

/// For variants whose target is another variant's best accuracy, fills in the target and the
/// first step reaching it, once every variant has finished.
fn targets_from_variants(
    loaded: &LoadedSpec,
    dir: &Path,
    rows: &mut [SummaryRow],
) -> anyhow::Result<()> {
    for (i, variant) in loaded.variants.iter().enumerate() {
        let reference = &variant.spec.eval.target_variant;
        if reference.is_empty() {
            continue;
        }
        let best = rows
            .iter()
            .find(|r| r.get("variant") == Some(reference))
            .and_then(|r| r.get("best_test_accuracy"))
            .and_then(|v| v.parse::<f64>().ok());
        let history = metrics::read(&dir.join(&variant.name).join("metrics.csv"))?;
        let reached = best.and_then(|b| history.iter().find(|r| r.test_accuracy >= b));
        rows[i].set(
            "target_accuracy",
            best.map(|b| b.to_string()).unwrap_or_default(),
        );
        rows[i].set(
            "steps_to_target",
            reached.map(|r| r.step.to_string()).unwrap_or_default(),
        );
    }
    Ok(())
}

fn summary_row(variant: &Variant, result: &KindResult) -> SummaryRow {
    let o = &result.outcome;
    let spec = &variant.spec;
    let mut row = SummaryRow::default();
    row.push("variant", &variant.name);
    let (status, diverged_at) = match o.status {
        Status::Done => ("done", None),
        Status::Diverged { step } => ("diverged", Some(step)),
    };
    row.push("status", status);
    row.push("steps", o.steps_run);
    row.push("params", o.params);
    let last = o.history.last();
    row.push_opt("final_test_accuracy", last.map(|r| r.test_accuracy));
    row.push_opt("final_test_loss", last.map(|r| r.test_loss));
    row.push_opt("final_train_accuracy", last.map(|r| r.train_accuracy));
    let best = o.history.iter().max_by(|a, b| {
        a.test_accuracy
            .total_cmp(&b.test_accuracy)
            .then(b.step.cmp(&a.step))
    });
    row.push_opt("best_test_accuracy", best.map(|r| r.test_accuracy));
    row.push_opt("best_step", best.map(|r| r.step));
    let target = spec.eval.target_accuracy;
    row.push_opt("target_accuracy", (target > 0.0).then_some(target));
    let reached = o
        .history
        .iter()
        .find(|r| target > 0.0 && r.test_accuracy >= target);
    row.push_opt("steps_to_target", reached.map(|r| r.step));
    row.push_opt("diverged_at_step", diverged_at);
    row.push("train_seconds", format!("{:.3}", o.train_seconds));
    let steps_per_sec = o.steps_run as f64 / o.train_seconds.max(1e-9);
    row.push("steps_per_sec", format!("{steps_per_sec:.1}"));
    for (k, v) in &result.extra {
        row.push_opt(k, *v);
    }
    for (k, v) in &variant.paper {
        let text = match v {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        row.push(&format!("paper_{k}"), text);
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
        "flex" | "wgpu" | "cuda" => Err(user_error!(
            "this runner was built without the `{name}` backend; rebuild with \
             `cargo build --release --features {name}`"
        )),
        other => Err(user_error!(
            "unknown device `{other}`; expected flex, wgpu or cuda"
        )),
    }
}
