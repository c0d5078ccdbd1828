//! `runner report`: gathers finished run dirs (plain runs, sweep cells, whole results trees),
//! groups them by configuration — the resolved spec with the seed left out — and tabulates
//! mean ± std over seeds per variant, the paper's figures beside ours. Kind-agnostic: it reads
//! only `spec.toml`, `manifest.json`, `summary.csv` and `<variant>/metrics.csv`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::Expect;
use crate::util::stats::mean_std;
use crate::util::table::{Align, markdown_table};
use crate::{bail_user, user_error};

use crate::run::manifest::Manifest;

/// One finished run.
#[derive(Clone, Debug)]
pub struct Run {
    pub dir: PathBuf,
    pub seed: Option<i64>,
    /// Summary rows: variant name -> (column -> value).
    pub rows: BTreeMap<String, BTreeMap<String, String>>,
    /// summary.csv's columns in order.
    pub columns: Vec<String>,
}

impl Run {
    pub fn value(&self, variant: &str, column: &str) -> Option<&str> {
        self.rows.get(variant)?.get(column).map(String::as_str)
    }
}

/// Runs of one spec with one configuration, differing only in the seed.
#[derive(Clone, Debug)]
pub struct Group {
    /// The spec's `name`.
    pub name: String,
    pub kind: String,
    /// What sets this group apart from the other groups of the same spec (`train.lr=0.5`);
    /// empty when the spec has one group.
    pub label: String,
    /// Variants in spec order.
    pub variants: Vec<String>,
    pub expects: Vec<Expect>,
    /// Sorted by seed.
    pub runs: Vec<Run>,
    /// Flattened configuration: (variant, dotted key) -> value.
    config: BTreeMap<(String, String), String>,
}

impl Group {
    /// The columns of this group's summaries, in order of first appearance.
    pub fn columns(&self) -> Vec<String> {
        let mut cols: Vec<String> = Vec::new();
        for r in &self.runs {
            for c in &r.columns {
                if !cols.contains(c) {
                    cols.push(c.clone());
                }
            }
        }
        cols
    }

    pub fn seeds(&self) -> Vec<String> {
        self.runs
            .iter()
            .map(|r| r.seed.map(|s| s.to_string()).unwrap_or_else(|| "?".into()))
            .collect()
    }
}

#[derive(Debug, Default)]
pub struct Collection {
    pub groups: Vec<Group>,
    /// Directories left out, with why (unfinished, unreadable, a duplicate).
    pub skipped: Vec<(PathBuf, String)>,
}

/// Finds the run dirs under `dirs` (each a run dir, a sweep dir, or any folder above them).
pub fn collect(dirs: &[PathBuf]) -> anyhow::Result<Collection> {
    let mut found = Vec::new();
    for d in dirs {
        if !d.is_dir() {
            bail_user!("{} is not a directory", d.display());
        }
        walk(d, 0, &mut found);
    }
    found.sort();
    found.dedup();
    let mut out = Collection::default();
    // (name, config key) -> index into out.groups
    let mut index: Vec<((String, String), usize)> = Vec::new();
    let mut seen: Vec<(usize, Option<i64>, PathBuf)> = Vec::new();
    for dir in found {
        let parsed = match read_run(&dir) {
            Ok(Some(p)) => p,
            Ok(None) => {
                out.skipped.push((dir, "unfinished".into()));
                continue;
            }
            Err(e) => {
                out.skipped.push((dir, format!("{e:#}")));
                continue;
            }
        };
        let key = (parsed.name.clone(), parsed.key.clone());
        let g = match index.iter().find(|(k, _)| *k == key) {
            Some((_, g)) => *g,
            None => {
                out.groups.push(Group {
                    name: parsed.name.clone(),
                    kind: parsed.kind.clone(),
                    label: String::new(),
                    variants: parsed.variants.clone(),
                    expects: parsed.expects.clone(),
                    runs: Vec::new(),
                    config: parsed.config.clone(),
                });
                index.push((key, out.groups.len() - 1));
                out.groups.len() - 1
            }
        };
        if let Some((_, _, first)) = seen
            .iter()
            .find(|(gi, s, _)| *gi == g && *s == parsed.run.seed)
        {
            out.skipped.push((
                dir,
                format!("same configuration and seed as {}", first.display()),
            ));
            continue;
        }
        seen.push((g, parsed.run.seed, parsed.run.dir.clone()));
        out.groups[g].runs.push(parsed.run);
    }
    for g in &mut out.groups {
        g.runs.sort_by_key(|r| r.seed);
    }
    label_groups(&mut out.groups);
    if out.groups.is_empty() {
        let why = if out.skipped.is_empty() {
            String::new()
        } else {
            format!(
                " ({} run dir(s) skipped: {})",
                out.skipped.len(),
                out.skipped
                    .iter()
                    .take(3)
                    .map(|(d, w)| format!("{}: {w}", d.display()))
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        };
        bail_user!(
            "no finished runs under {}{why}",
            dirs.iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(out)
}

fn is_run_dir(d: &Path) -> bool {
    d.join("manifest.json").is_file() && d.join("spec.toml").is_file()
}

fn walk(d: &Path, depth: usize, out: &mut Vec<PathBuf>) {
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

struct Parsed {
    name: String,
    kind: String,
    key: String,
    variants: Vec<String>,
    expects: Vec<Expect>,
    config: BTreeMap<(String, String), String>,
    run: Run,
}

/// Reads a run dir; `None` when it has not finished.
fn read_run(dir: &Path) -> anyhow::Result<Option<Parsed>> {
    let manifest = Manifest::read(dir)?;
    if manifest.finished.is_none() {
        return Ok(None);
    }
    let spec_path = dir.join("spec.toml");
    let text = std::fs::read_to_string(&spec_path)?;
    let spec: toml::Table = toml::from_str(&text)
        .map_err(|e| user_error!("{}: {}", spec_path.display(), e.message()))?;
    let str_of = |k: &str| {
        spec.get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    let name = str_of("name");
    let kind = str_of("kind");
    let mut variants = Vec::new();
    let mut config = BTreeMap::new();
    let mut seed = None;
    for v in spec
        .get("variant")
        .and_then(|v| v.as_array())
        .cloned()
        .unwrap_or_default()
    {
        let Some(t) = v.as_table() else { continue };
        let vname = t
            .get("name")
            .and_then(|n| n.as_str())
            .unwrap_or("")
            .to_string();
        if seed.is_none() {
            seed = t.get("seed").and_then(|s| s.as_integer());
        }
        let mut flat = Vec::new();
        for (k, v) in t {
            if !matches!(k.as_str(), "name" | "seed" | "paper") {
                flatten(k, v, &mut flat);
            }
        }
        for (k, v) in flat {
            config.insert((vname.clone(), k), v);
        }
        variants.push(vname);
    }
    let expects: Vec<Expect> = match spec.get("expect") {
        Some(v) => v.clone().try_into().map_err(|e: toml::de::Error| {
            user_error!("{}: expect: {}", spec_path.display(), e.message())
        })?,
        None => Vec::new(),
    };
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
    Ok((headers, rows))
}

/// Labels each group by the settings in which it differs from the other groups of its spec.
fn label_groups(groups: &mut [Group]) {
    let names: Vec<String> = groups.iter().map(|g| g.name.clone()).collect();
    for name in names.iter() {
        let members: Vec<usize> = (0..groups.len())
            .filter(|&i| &groups[i].name == name)
            .collect();
        if members.len() < 2 {
            continue;
        }
        let mut keys: Vec<(String, String)> = Vec::new();
        for &i in &members {
            for k in groups[i].config.keys() {
                if !keys.contains(k) {
                    keys.push(k.clone());
                }
            }
        }
        let differing: Vec<&(String, String)> = keys
            .iter()
            .filter(|k| {
                let first = groups[members[0]].config.get(*k);
                members.iter().any(|&i| groups[i].config.get(*k) != first)
            })
            .collect();
        let mut labels = Vec::new();
        for &i in &members {
            let g = &groups[i];
            // dotted key -> [(variant, value)]
            let mut by_key: BTreeMap<&str, Vec<(&str, String)>> = BTreeMap::new();
            for (variant, key) in &differing {
                let value = g
                    .config
                    .get(&(variant.clone(), key.clone()))
                    .cloned()
                    .unwrap_or_else(|| "(unset)".into());
                by_key
                    .entry(key.as_str())
                    .or_default()
                    .push((variant.as_str(), value));
            }
            let mut parts = Vec::new();
            for (key, values) in by_key {
                if values.iter().all(|(_, v)| *v == values[0].1) {
                    parts.push(format!("{key}={}", values[0].1));
                } else {
                    for (variant, v) in values {
                        parts.push(format!("variant.{variant}.{key}={v}"));
                    }
                }
            }
            labels.push((i, parts.join(" ")));
        }
        for (i, label) in labels {
            groups[i].label = label;
        }
    }
}

/// Mean, spread and count of one column over a group's seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct Stat {
    pub n: usize,
    /// Runs with the variant but no value in this column (e.g. a target never reached).
    pub empty: usize,
    pub mean: f64,
    /// Sample standard deviation (n - 1); `None` below two values.
    pub std: Option<f64>,
}

/// Columns that are not results: identity, status, and wall-clock timings (which differ run to
/// run and would make reports of identical results differ).
fn is_result_column(c: &str) -> bool {
    !(c == "variant"
        || c == "status"
        || c.starts_with("paper_")
        || c.ends_with("_seconds")
        || c.ends_with("per_sec"))
}

pub fn column_stat(group: &Group, variant: &str, column: &str) -> Option<Stat> {
    let mut values = Vec::new();
    let mut empty = 0;
    for r in &group.runs {
        match r.value(variant, column) {
            Some("") => empty += 1,
            Some(v) => values.push(v.parse::<f64>().ok()?),
            None => {}
        }
    }
    if values.is_empty() && empty == 0 {
        return None;
    }
    let (mean, std) = mean_std(&values).unwrap_or((f64::NAN, None));
    Some(Stat {
        n: values.len(),
        empty,
        mean,
        std,
    })
}

/// The numeric result columns of a group.
fn numeric_columns(group: &Group) -> Vec<String> {
    group
        .columns()
        .into_iter()
        .filter(|c| is_result_column(c))
        .filter(|c| {
            group.runs.iter().all(|r| {
                r.rows.values().all(|row| {
                    row.get(c)
                        .is_none_or(|v| v.is_empty() || v.parse::<f64>().is_ok())
                })
            })
        })
        .collect()
}

fn is_accuracy(col: &str, stats: &[&Stat]) -> bool {
    col.contains("accuracy")
        && stats
            .iter()
            .all(|s| s.n == 0 || (0.0..=1.0).contains(&s.mean))
}

fn fmt_num(x: f64, integral: bool) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    if integral && (x.fract() == 0.0 || x.abs() >= 100.0) {
        return format!("{x:.0}");
    }
    if integral {
        return format!("{x:.1}");
    }
    let mag = x.abs();
    if mag == 0.0 {
        "0".into()
    } else if mag >= 1000.0 {
        format!("{x:.0}")
    } else if mag >= 1.0 {
        format!("{x:.3}")
    } else {
        format!("{x:.4}")
    }
}

/// `97.12 ± 0.31` (accuracies in percent), with `(k/n)` when some seeds have no value.
fn fmt_stat(s: &Stat, percent: bool, integral: bool) -> String {
    if s.n == 0 {
        return "never".into();
    }
    let (m, sd) = if percent {
        (100.0 * s.mean, s.std.map(|v| 100.0 * v))
    } else {
        (s.mean, s.std)
    };
    let mut out = if percent {
        format!("{m:.2}")
    } else {
        fmt_num(m, integral)
    };
    if let Some(sd) = sd.filter(|&sd| sd != 0.0) {
        let sd = if percent {
            format!("{sd:.2}")
        } else {
            fmt_num(sd, integral)
        };
        out += &format!(" ± {sd}");
    }
    if s.empty > 0 {
        out += &format!(" ({}/{})", s.n, s.n + s.empty);
    }
    out
}

fn status_text(group: &Group, variant: &str) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for r in &group.runs {
        if let Some(s) = r.value(variant, "status") {
            match counts.iter_mut().find(|(k, _)| k == s) {
                Some((_, n)) => *n += 1,
                None => counts.push((s.to_string(), 1)),
            }
        }
    }
    if counts.len() == 1 {
        return counts[0].0.clone();
    }
    counts
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The Markdown table of one group, and the columns that are the same in every row.
pub fn group_table(group: &Group) -> String {
    let cols = numeric_columns(group);
    let stats: Vec<Vec<Option<Stat>>> = group
        .variants
        .iter()
        .map(|v| cols.iter().map(|c| column_stat(group, v, c)).collect())
        .collect();
    let mut shown = Vec::new();
    let mut same = Vec::new();
    for (j, c) in cols.iter().enumerate() {
        let col_stats: Vec<&Stat> = stats.iter().filter_map(|r| r[j].as_ref()).collect();
        if col_stats.is_empty() || col_stats.iter().all(|s| s.n == 0) {
            continue;
        }
        let percent = is_accuracy(c, &col_stats);
        let integral = group.runs.iter().all(|r| {
            r.rows.values().all(|row| {
                row.get(c).is_none_or(|v| {
                    v.is_empty() || v.parse::<f64>().is_ok_and(|x| x.fract() == 0.0)
                })
            })
        });
        let constant = col_stats.len() == group.variants.len()
            && col_stats.iter().all(|s| {
                s.empty == 0
                    && s.n > 0
                    && s.mean == col_stats[0].mean
                    && s.std.is_none_or(|v| v == 0.0)
            });
        if constant {
            let s = Stat {
                n: col_stats[0].n,
                empty: 0,
                mean: col_stats[0].mean,
                std: None,
            };
            let unit = if percent { "%" } else { "" };
            same.push(format!("{c} = {}{unit}", fmt_stat(&s, percent, integral)));
        } else {
            shown.push((j, c.clone(), percent, integral));
        }
    }
    let paper: Vec<String> = group
        .columns()
        .into_iter()
        .filter(|c| c.starts_with("paper_"))
        .collect();
    let mut header = vec!["variant".to_string(), "seeds".into(), "status".into()];
    for (_, c, percent, _) in &shown {
        header.push(if *percent {
            format!("{c} (%)")
        } else {
            c.clone()
        });
    }
    header.extend(paper.iter().cloned());
    let mut rows = Vec::new();
    for (i, v) in group.variants.iter().enumerate() {
        let n = group.runs.iter().filter(|r| r.rows.contains_key(v)).count();
        let mut row = vec![v.clone(), n.to_string(), status_text(group, v)];
        for (j, _, percent, integral) in &shown {
            row.push(
                stats[i][*j]
                    .as_ref()
                    .map(|s| fmt_stat(s, *percent, *integral))
                    .unwrap_or_default(),
            );
        }
        for p in &paper {
            row.push(
                group
                    .runs
                    .iter()
                    .find_map(|r| r.value(v, p).filter(|x| !x.is_empty()))
                    .unwrap_or("")
                    .to_string(),
            );
        }
        rows.push(row);
    }
    let mut out = markdown_table(&header, &rows, Align::Left);
    if !same.is_empty() {
        out += &format!("\nSame in every row: {}.\n", same.join("; "));
    }
    out
}

/// All groups as CSV: one row per (spec, configuration, variant); `COL_mean`, `COL_std` and
/// `COL_n` per numeric column (over the seeds that have a value), then the paper's columns.
pub fn csv(c: &Collection) -> anyhow::Result<Vec<u8>> {
    let mut numeric: Vec<String> = Vec::new();
    let mut paper: Vec<String> = Vec::new();
    for g in &c.groups {
        for col in numeric_columns(g) {
            if !numeric.contains(&col) {
                numeric.push(col);
            }
        }
        for col in g.columns() {
            if col.starts_with("paper_") && !paper.contains(&col) {
                paper.push(col);
            }
        }
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = [
        "spec", "kind", "config", "variant", "runs", "seeds", "status",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for col in &numeric {
        header.push(format!("{col}_mean"));
        header.push(format!("{col}_std"));
        header.push(format!("{col}_n"));
    }
    header.extend(paper.iter().cloned());
    w.write_record(&header)?;
    for g in &c.groups {
        for v in &g.variants {
            let runs = g.runs.iter().filter(|r| r.rows.contains_key(v)).count();
            let mut row = vec![
                g.name.clone(),
                g.kind.clone(),
                g.label.clone(),
                v.clone(),
                runs.to_string(),
                g.seeds().join(" "),
                status_text(g, v),
            ];
            for col in &numeric {
                match column_stat(g, v, col) {
                    Some(s) if s.n > 0 => {
                        row.push(s.mean.to_string());
                        row.push(s.std.map(|x| x.to_string()).unwrap_or_default());
                        row.push(s.n.to_string());
                    }
                    Some(s) => row.extend(["".into(), "".into(), s.n.to_string()]),
                    None => row.extend(["".into(), "".into(), "".into()]),
                }
            }
            for p in &paper {
                row.push(
                    g.runs
                        .iter()
                        .find_map(|r| r.value(v, p).filter(|x| !x.is_empty()))
                        .unwrap_or("")
                        .to_string(),
                );
            }
            w.write_record(&row)?;
        }
    }
    Ok(w.into_inner()?)
}

/// A file-name-safe form of `s`.
pub fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_format_as_percent_and_partial() {
        let s = Stat {
            n: 2,
            empty: 1,
            mean: 0.9712,
            std: Some(0.0031),
        };
        assert_eq!(fmt_stat(&s, true, false), "97.12 ± 0.31 (2/3)");
        let s = Stat {
            n: 3,
            empty: 0,
            mean: 1500.0,
            std: Some(0.0),
        };
        assert_eq!(fmt_stat(&s, false, true), "1500");
        let s = Stat {
            n: 2,
            empty: 0,
            mean: 30.0,
            std: Some(14.142),
        };
        assert_eq!(fmt_stat(&s, false, true), "30 ± 14.1");
        let s = Stat {
            n: 3,
            empty: 0,
            mean: 21833.33,
            std: Some(6857.2),
        };
        assert_eq!(fmt_stat(&s, false, true), "21833 ± 6857");
        let never = Stat {
            n: 0,
            empty: 3,
            mean: f64::NAN,
            std: None,
        };
        assert_eq!(fmt_stat(&never, false, true), "never");
    }
}
