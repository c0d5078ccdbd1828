//! `runner report`: gathers finished run dirs (plain runs, sweep cells, whole results trees),
//! groups them by configuration — the resolved spec with the seed left out — and tabulates
//! mean ± std over seeds per variant, the paper's figures beside ours. Kind-agnostic: it reads
//! only `spec.toml`, `manifest.json`, `summary.csv` and `<variant>/metrics.csv`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::config::Expect;
use crate::run::manifest::Manifest;

mod find;
mod format;
mod group;
mod stats;

pub use format::{csv, group_cells, group_table, slug};
pub use group::collect;

/// One finished run.
#[derive(Clone, Debug)]
pub struct Run {
    pub dir: PathBuf,
    pub seed: Option<i64>,
    /// Summary rows: variant name -> (column -> value).
    pub rows: BTreeMap<String, BTreeMap<String, String>>,
    /// summary.csv's columns in order.
    pub columns: Vec<String>,
    /// What produced it (for report.html's facts of each run).
    pub manifest: Manifest,
    /// Its resolved spec.toml as written (shown folded in report.html).
    pub spec_text: String,
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
