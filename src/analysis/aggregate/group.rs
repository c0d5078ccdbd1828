//! Gathering the runs found into groups, one per spec and configuration, and labelling each
//! group by what sets it apart.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::find::{read_run, walk};
use super::{Collection, Group};
use crate::bail_user;

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
