//! Finding run dirs under a folder, and reading one: its spec, manifest and summary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::Run;
use crate::config::Expect;
use crate::run::manifest::Manifest;
use crate::user_error;

fn is_run_dir(d: &Path) -> bool {
    d.join("manifest.json").is_file() && d.join("spec.toml").is_file()
}

pub(super) fn walk(d: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    if is_run_dir(d) {
        out.push(d.to_path_buf());
        return;
    }
    if depth > 8 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(d) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        // Checkpoints, sweep logs, and reports written by `runner report --out`.
        let skip = p
            .file_name()
            .is_some_and(|n| n == "checkpoints" || n == "logs")
            || p.join("report.md").is_file();
        if p.is_dir() && !skip {
            walk(&p, depth + 1, out);
        }
    }
}

pub(super) struct Parsed {
    pub(super) name: String,
    pub(super) kind: String,
    pub(super) key: String,
    pub(super) variants: Vec<String>,
    pub(super) expects: Vec<Expect>,
    pub(super) config: BTreeMap<(String, String), String>,
    pub(super) run: Run,
}

/// Reads a run dir; `None` when it has not finished.
pub(super) fn read_run(dir: &Path) -> anyhow::Result<Option<Parsed>> {
    let manifest = Manifest::read(dir)?;
    if manifest.finished.is_none() {
        return Ok(None);
    }
    // Through the loader, like `runner resume`: the resolved spec is a spec.
    // Read once: the text shown in report.html is the one judged.
    let spec_path = dir.join("spec.toml");
    let spec_text = std::fs::read_to_string(&spec_path)
        .map_err(|e| user_error!("cannot read spec {}: {e}", spec_path.display()))?;
    let loaded = crate::kinds::load_str(&spec_text, &spec_path.display().to_string(), &[])?;
    let name = loaded.name().to_string();
    let kind = loaded.first().kind.clone();
    let seed = Some(loaded.first().seed as i64);
    let mut variants = Vec::new();
    let mut config = BTreeMap::new();
    for v in &loaded.variants {
        let mut flat = Vec::new();
        for (k, value) in v.spec.to_table()? {
            // What every variant of a run shares, or names it, is not its configuration.
            if !matches!(k.as_str(), "name" | "seed" | "kind" | "description") {
                flatten(&k, &value, &mut flat);
            }
        }
        for (k, value) in flat {
            config.insert((v.name.clone(), k), value);
        }
        variants.push(v.name.clone());
    }
    let expects: Vec<Expect> = loaded.expects.clone();
    let (columns, rows) = read_summary(&dir.join("summary.csv"))?;
    let key = serde_json::to_string(&(&variants, config.iter().collect::<Vec<_>>()))?;
    Ok(Some(Parsed {
        name,
        kind,
        key,
        variants,
        expects,
        config,
        run: Run {
            dir: dir.to_path_buf(),
            seed,
            rows,
            columns,
            manifest,
            spec_text,
        },
    }))
}

fn flatten(prefix: &str, v: &toml::Value, out: &mut Vec<(String, String)>) {
    match v {
        toml::Value::Table(t) => {
            for (k, v) in t {
                flatten(&format!("{prefix}.{k}"), v, out);
            }
        }
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

type Rows = BTreeMap<String, BTreeMap<String, String>>;

fn read_summary(path: &Path) -> anyhow::Result<(Vec<String>, Rows)> {
    let mut r = csv::Reader::from_path(path)
        .map_err(|e| user_error!("cannot read {}: {e}", path.display()))?;
    let headers: Vec<String> = r.headers()?.iter().map(String::from).collect();
    let mut rows = BTreeMap::new();
    for rec in r.records() {
        let rec = rec?;
        let row: BTreeMap<String, String> = headers
            .iter()
            .cloned()
            .zip(rec.iter().map(String::from))
            .collect();
        let name = row.get("variant").cloned().unwrap_or_default();
        rows.insert(name, row);
    }
    if rows.is_empty() {
        // Every finished run writes a row per variant: none means the file was cut or emptied.
        return Err(user_error!(
            "{}: no rows{} (a finished run has one per variant); the run is corrupt",
            path.display(),
            if headers.is_empty() {
                ", no header"
            } else {
                ""
            }
        ));
    }
    Ok((headers, rows))
}
