//! A report's tables and CSV: statistics formatted per column, one table per group.

use super::stats::{Stat, column_stat, numeric_columns};
use super::{Collection, Group};
use crate::util::table::{Align, markdown_table};

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

/// One group's table as cells, the model that the Markdown and the HTML report both render.
pub struct GroupTable {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Columns equal in every row, folded out of the table: `steps = 100`.
    pub same: Vec<String>,
}

/// The Markdown table of one group, and the columns that are the same in every row.
pub fn group_table(group: &Group) -> String {
    let t = group_cells(group);
    let mut out = markdown_table(&t.header, &t.rows, Align::Left);
    if !t.same.is_empty() {
        out += &format!("\nSame in every row: {}.\n", t.same.join("; "));
    }
    out
}

/// The cells of one group's table: per variant, mean ± std over seeds of each column that
/// varies, then the paper's columns.
pub fn group_cells(group: &Group) -> GroupTable {
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
    GroupTable { header, rows, same }
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
