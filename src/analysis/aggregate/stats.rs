//! Per-column statistics of a group over its seeds.

use super::Group;
use crate::util::stats::mean_std;

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
pub(super) fn numeric_columns(group: &Group) -> Vec<String> {
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
