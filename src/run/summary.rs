//! `summary.csv` (one row per variant) and the table printed at the end of a run, with the
//! paper's figures in their own columns beside ours.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::util::fs::write_atomic;
use crate::util::stats::mean_std;
use crate::util::table::{Align, Column, Show, markdown_table};

/// One variant's results as ordered `(column, value)` pairs.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct SummaryRow(pub Vec<(String, String)>);

impl SummaryRow {
    pub fn push(&mut self, key: &str, value: impl ToString) {
        self.0.push((key.to_string(), value.to_string()));
    }

    pub fn push_opt(&mut self, key: &str, value: Option<impl ToString>) {
        self.push(key, value.map(|v| v.to_string()).unwrap_or_default());
    }

    /// Replaces the value of `key` (appending it if absent).
    pub fn set(&mut self, key: &str, value: String) {
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value,
            None => self.0.push((key.to_string(), value)),
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        write_atomic(path, &serde_json::to_vec_pretty(self)?)
    }

    pub fn read(path: &Path) -> anyhow::Result<Self> {
        Ok(serde_json::from_slice(&std::fs::read(path)?)?)
    }
}

/// All columns of `rows`, in order of first appearance.
fn columns(rows: &[SummaryRow]) -> Vec<String> {
    let mut cols: Vec<String> = Vec::new();
    for row in rows {
        for (k, _) in &row.0 {
            if !cols.contains(k) {
                cols.push(k.clone());
            }
        }
    }
    cols
}

pub fn write_csv(path: &Path, rows: &[SummaryRow]) -> anyhow::Result<()> {
    let cols = columns(rows);
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&cols)?;
    for row in rows {
        w.write_record(cols.iter().map(|c| row.get(c).unwrap_or("")))?;
    }
    write_atomic(path, &w.into_inner()?)
}

/// A Markdown table of the columns people read first, then the kind's own `columns`, then the
/// paper's; accuracies as percentages.
pub fn table(rows: &[SummaryRow], columns_of_kind: &[Column]) -> String {
    const FIRST: [&str; 8] = [
        "variant",
        "status",
        "steps",
        "params",
        "final_test_accuracy",
        "best_test_accuracy",
        "steps_to_target",
        "steps_per_sec",
    ];
    let all = columns(rows);
    let cols: Vec<&str> = FIRST
        .iter()
        .copied()
        .chain(columns_of_kind.iter().map(|c| c.name))
        .filter(|c| all.iter().any(|a| a == c))
        .chain(
            all.iter()
                .map(String::as_str)
                .filter(|c| c.starts_with("paper_")),
        )
        .collect();
    let show = |col: &str| {
        columns_of_kind
            .iter()
            .find(|c| c.name == col)
            .map(|c| c.show)
    };
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            cols.iter()
                .map(|c| pretty(c, r.get(c).unwrap_or(""), show(c)))
                .collect()
        })
        .collect();
    let header: Vec<String> = cols.iter().map(|c| c.to_string()).collect();
    markdown_table(&header, &cells, Align::Left)
}

fn pretty(col: &str, v: &str, show: Option<Show>) -> String {
    match v.parse::<f64>() {
        Ok(x) if col.contains("accuracy") && x <= 1.0 => format!("{:.2}%", 100.0 * x),
        Ok(x) if col == "steps_per_sec" => format!("{x:.0}"),
        Ok(x) => show
            .and_then(|s| s.format(x))
            .unwrap_or_else(|| v.to_string()),
        _ => v.to_string(),
    }
}

/// Every column of `rows` as a right-aligned Markdown table, values as they are.
pub fn markdown(rows: &[SummaryRow]) -> String {
    let cols = columns(rows);
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            cols.iter()
                .map(|c| r.get(c).unwrap_or("").to_string())
                .collect()
        })
        .collect();
    markdown_table(&cols, &cells, Align::Right)
}

/// Columns averaged over the seeds of a group in `summary_seeds.csv`.
pub const SEED_METRICS: [&str; 4] = [
    "final_test_accuracy",
    "best_test_accuracy",
    "final_train_accuracy",
    "final_test_loss",
];

/// One row per group of variants that differ only in their seed: `variant` (the group's
/// label), `runs`, `seeds`, then `<metric>_mean` and `<metric>_std` (sample standard
/// deviation, n - 1) for each of [`SEED_METRICS`] over the runs that have it, then the first
/// member's `paper_*` columns.
pub fn seed_groups(rows: &[SummaryRow], groups: &[SeedGroup]) -> Vec<SummaryRow> {
    groups
        .iter()
        .map(|g| {
            let members: Vec<&SummaryRow> = g.members.iter().map(|&i| &rows[i]).collect();
            let mut out = SummaryRow::default();
            out.push("variant", &g.label);
            out.push("runs", members.len());
            out.push(
                "seeds",
                g.seeds
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(" "),
            );
            for metric in SEED_METRICS {
                let values: Vec<f64> = members
                    .iter()
                    .filter_map(|r| r.get(metric)?.parse::<f64>().ok())
                    .collect();
                let (mean, std) = mean_std(&values).map_or((None, None), |(m, s)| (Some(m), s));
                out.push_opt(&format!("{metric}_mean"), mean);
                out.push_opt(&format!("{metric}_std"), std);
            }
            if let Some(first) = members.first() {
                for (k, v) in first.0.iter().filter(|(k, _)| k.starts_with("paper_")) {
                    out.push(k, v);
                }
            }
            out
        })
        .collect()
}

/// Variants (indices into the run's rows) that differ only in their seed.
#[derive(Clone, Debug, PartialEq)]
pub struct SeedGroup {
    pub label: String,
    pub members: Vec<usize>,
    pub seeds: Vec<u64>,
}

/// The seed groups as Markdown: accuracies as `mean ± std` percentages.
pub fn seed_table(rows: &[SummaryRow]) -> String {
    let shown: Vec<SummaryRow> = rows
        .iter()
        .map(|r| {
            let mut out = SummaryRow::default();
            out.push("variant", r.get("variant").unwrap_or(""));
            out.push("runs", r.get("runs").unwrap_or(""));
            for metric in ["final_test_accuracy", "best_test_accuracy"] {
                let get = |s: &str| r.get(&format!("{metric}_{s}"))?.parse::<f64>().ok();
                let text = match (get("mean"), get("std")) {
                    (Some(m), Some(s)) => format!("{:.2}% ± {:.2}", 100.0 * m, 100.0 * s),
                    (Some(m), None) => format!("{:.2}%", 100.0 * m),
                    _ => String::new(),
                };
                out.push(&format!("{metric} (mean ± std)"), text);
            }
            for (k, v) in r.0.iter().filter(|(k, _)| k.starts_with("paper_")) {
                out.push(k, v);
            }
            out
        })
        .collect();
    markdown(&shown)
}
