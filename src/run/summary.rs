//! `summary.csv` (one row per variant) and the table printed at the end of a run, with the
//! paper's figures in their own columns beside ours.

use std::path::Path;

use crate::util::fs::write_atomic;
use crate::util::stats::mean_std;
use crate::util::table::{Align, Column, Show, markdown_table};

/// One summary value, typed until it is written.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Written as Rust prints an f64: the shortest text that reads back the same.
    Number(f64),
    /// A number written with this many decimals (timings).
    Fixed(f64, usize),
    Text(String),
    /// An empty cell (a metric this variant does not have).
    Missing,
}

impl Value {
    pub fn number(&self) -> Option<f64> {
        match self {
            Value::Number(x) | Value::Fixed(x, _) => Some(*x),
            Value::Text(_) | Value::Missing => None,
        }
    }

    /// The cell as summary.csv and result.json write it.
    pub fn text(&self) -> String {
        match self {
            Value::Number(x) => x.to_string(),
            Value::Fixed(x, d) => format!("{x:.d$}"),
            Value::Text(s) => s.clone(),
            Value::Missing => String::new(),
        }
    }

    fn to_json(&self) -> serde_json::Value {
        let number = |x: f64| {
            if x.fract() == 0.0 && x.abs() < 9e15 {
                // Whole numbers (steps, counts) as JSON integers.
                serde_json::Value::from(x as i64)
            } else {
                serde_json::Number::from_f64(x)
                    .map_or_else(|| serde_json::Value::String(x.to_string()), Into::into)
            }
        };
        match self {
            Value::Number(x) => number(*x),
            // The value as written, so the JSON shows what summary.csv shows.
            Value::Fixed(..) => number(self.text().parse().unwrap_or(f64::NAN)),
            Value::Text(s) => serde_json::Value::String(s.clone()),
            Value::Missing => serde_json::Value::Null,
        }
    }

    fn from_json(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Missing,
            serde_json::Value::Number(n) => n.as_f64().map_or(Value::Missing, Value::Number),
            // NaN and the infinities are written as strings.
            serde_json::Value::String(s) => match s.parse::<f64>() {
                Ok(x) if !x.is_finite() => Value::Number(x),
                _ => Value::Text(s.clone()),
            },
            other => Value::Text(other.to_string()),
        }
    }

    /// The value a written cell holds: the inverse of [`Value::text`].
    fn parse(s: &str) -> Value {
        if s.is_empty() {
            return Value::Missing;
        }
        let Ok(x) = s.parse::<f64>() else {
            return Value::Text(s.to_string());
        };
        let decimals = s.split_once('.').map_or(0, |(_, f)| f.len());
        [Value::Number(x), Value::Fixed(x, decimals)]
            .into_iter()
            .find(|v| v.text() == s)
            .unwrap_or_else(|| Value::Text(s.to_string()))
    }
}

impl From<f64> for Value {
    fn from(x: f64) -> Self {
        Value::Number(x)
    }
}

impl From<u64> for Value {
    fn from(x: u64) -> Self {
        Value::Number(x as f64)
    }
}

impl From<usize> for Value {
    fn from(x: usize) -> Self {
        Value::Number(x as f64)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Missing, Into::into)
    }
}

/// One variant's results as ordered `(column, value)` pairs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SummaryRow(Vec<(String, Value)>);

impl SummaryRow {
    pub fn push(&mut self, key: &str, value: impl Into<Value>) {
        self.0.push((key.to_string(), value.into()));
    }

    /// Inserts `key` right after the column `after` (at the end if there is none).
    pub fn insert_after(&mut self, after: &str, key: &str, value: impl Into<Value>) {
        let at = self
            .0
            .iter()
            .position(|(k, _)| k == after)
            .map_or(self.0.len(), |i| i + 1);
        self.0.insert(at, (key.to_string(), value.into()));
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn number(&self, key: &str) -> Option<f64> {
        self.get(key)?.number()
    }

    /// The cell of `key` as written; empty when the row has no such column.
    pub fn text(&self, key: &str) -> String {
        self.get(key).map(Value::text).unwrap_or_default()
    }

    /// The `paper_*` columns, in order.
    fn paper(&self) -> impl Iterator<Item = &(String, Value)> {
        self.0.iter().filter(|(k, _)| k.starts_with("paper_"))
    }

    /// result.json's bytes (written by [`crate::run::finished::write`]): one object, columns
    /// in order, numbers as JSON numbers (non-finite ones as strings), text as strings,
    /// missing values as null.
    pub fn to_json_bytes(&self) -> anyhow::Result<Vec<u8>> {
        let object: serde_json::Map<String, serde_json::Value> = self
            .0
            .iter()
            .map(|(k, v)| (k.clone(), v.to_json()))
            .collect();
        Ok(serde_json::to_vec_pretty(&object)?)
    }

    /// result.json's row from its bytes, read from `path` (named in errors), as
    /// [`SummaryRow::to_json_bytes`] writes it (or as a list of `[column, text]` pairs, as runs
    /// before 0.2 wrote it).
    pub fn from_json_bytes(bytes: &[u8], path: &Path) -> anyhow::Result<Self> {
        let json: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| crate::user_error!("corrupt {}: {e}", path.display()))?;
        let cells = match json {
            serde_json::Value::Object(map) => map
                .into_iter()
                .map(|(k, v)| (k, Value::from_json(&v)))
                .collect(),
            other => {
                let pairs: Vec<(String, String)> = serde_json::from_value(other)
                    .map_err(|e| crate::user_error!("corrupt {}: {e}", path.display()))?;
                pairs
                    .into_iter()
                    .map(|(k, v)| {
                        let value = Value::parse(&v);
                        (k, value)
                    })
                    .collect()
            }
        };
        Ok(Self(cells))
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
        w.write_record(cols.iter().map(|c| row.text(c)))?;
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
    // A column no row has a value in (steps_to_target without a target) is left out.
    let filled = |c: &str| rows.iter().any(|r| !r.text(c).is_empty());
    let cols: Vec<&str> = FIRST
        .iter()
        .copied()
        .chain(columns_of_kind.iter().map(|c| c.name))
        .filter(|c| all.iter().any(|a| a == c) && filled(c))
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
        .map(|r| cols.iter().map(|c| pretty(c, r.get(c), show(c))).collect())
        .collect();
    let header: Vec<String> = cols.iter().map(|c| c.to_string()).collect();
    markdown_table(&header, &cells, Align::Left)
}

fn pretty(col: &str, v: Option<&Value>, show: Option<Show>) -> String {
    let text = v.map(Value::text).unwrap_or_default();
    match v.and_then(Value::number) {
        Some(x) if col.contains("accuracy") && x <= 1.0 => format!("{:.2}%", 100.0 * x),
        Some(x) if col == "steps_per_sec" => format!("{x:.0}"),
        Some(x) => show.and_then(|s| s.format(x)).unwrap_or(text),
        None => text,
    }
}

/// Every column of `rows` as a right-aligned Markdown table, values as they are.
pub fn markdown(rows: &[SummaryRow]) -> String {
    let cols = columns(rows);
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| cols.iter().map(|c| r.text(c)).collect())
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
pub fn seed_rows(rows: &[SummaryRow], groups: &[SeedGroup]) -> Vec<SummaryRow> {
    groups
        .iter()
        .map(|g| {
            let members: Vec<&SummaryRow> = g.members.iter().map(|&i| &rows[i]).collect();
            let mut out = SummaryRow::default();
            out.push("variant", g.label.as_str());
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
                let values: Vec<f64> = members.iter().filter_map(|r| r.number(metric)).collect();
                let (mean, std) = mean_std(&values).map_or((None, None), |(m, s)| (Some(m), s));
                out.push(&format!("{metric}_mean"), mean);
                out.push(&format!("{metric}_std"), std);
            }
            if let Some(first) = members.first() {
                for (k, v) in first.paper() {
                    out.push(k, v.clone());
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
            out.push("variant", r.text("variant"));
            out.push("runs", r.text("runs"));
            for metric in ["final_test_accuracy", "best_test_accuracy"] {
                let get = |s: &str| r.number(&format!("{metric}_{s}"));
                let text = match (get("mean"), get("std")) {
                    (Some(m), Some(s)) => format!("{:.2}% ± {:.2}", 100.0 * m, 100.0 * s),
                    (Some(m), None) => format!("{:.2}%", 100.0 * m),
                    _ => String::new(),
                };
                out.push(&format!("{metric} (mean ± std)"), text);
            }
            for (k, v) in r.paper() {
                out.push(k, v.clone());
            }
            out
        })
        .collect();
    markdown(&shown)
}
