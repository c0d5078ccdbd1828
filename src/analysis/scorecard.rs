//! One row per paper over every run reported: how many claims its specs hold, how many PASS
//! and FAIL, and the minutes its runs took (`runner report --scorecard`, the last table of
//! scripts/reproduce-all.sh).

use super::aggregate::{Collection, Group};
use super::claims::{self, Verdict};
use crate::util::table::{Align, markdown_table};

#[derive(Debug, PartialEq)]
pub struct PaperScore {
    /// The kind's paper without its parenthesis: "Zhang et al. 2017, Rethinking
    /// generalization" for both `random_labels` and `expressivity`.
    pub paper: String,
    pub claims: usize,
    pub pass: usize,
    pub fail: usize,
    pub missing: usize,
    /// From each run's manifest, started to finished, summed over the runs (a sweep run with
    /// `--jobs 2` takes about half of it in wall time); unfinished runs count nothing.
    pub minutes: f64,
}

/// The papers in the order of the registry (the README's order), each with its groups' claims
/// judged as `runner report --check` judges them.
pub fn score(collection: &Collection) -> Vec<PaperScore> {
    let mut scores: Vec<PaperScore> = Vec::new();
    let mut groups: Vec<&Group> = collection.groups.iter().collect();
    groups.sort_by_key(|g| registry_index(&g.kind));
    for g in groups {
        let paper = paper_of(&g.kind);
        let at = match scores.iter().position(|s| s.paper == paper) {
            Some(i) => i,
            None => {
                scores.push(PaperScore {
                    paper,
                    claims: 0,
                    pass: 0,
                    fail: 0,
                    missing: 0,
                    minutes: 0.0,
                });
                scores.len() - 1
            }
        };
        let s = &mut scores[at];
        let results = claims::evaluate(g);
        s.claims += results.len();
        s.pass += claims::count(&results, Verdict::Pass);
        s.fail += claims::count(&results, Verdict::Fail);
        s.missing += claims::count(&results, Verdict::Missing);
        s.minutes += g
            .runs
            .iter()
            .filter_map(|r| run_seconds(&r.manifest.started, r.manifest.finished.as_deref()))
            .sum::<f64>()
            / 60.0;
    }
    scores
}

fn registry_index(kind: &str) -> usize {
    crate::kinds::registry::KINDS
        .iter()
        .position(|k| k.schema.name == kind)
        .unwrap_or(usize::MAX)
}

fn paper_of(kind: &str) -> String {
    match crate::kinds::registry::find(kind) {
        Ok(k) => k.paper.split(" (").next().unwrap_or(k.paper).to_string(),
        // A run of a kind this binary does not know still gets its row.
        Err(_) => format!("kind `{kind}`"),
    }
}

/// Seconds between two RFC 3339 times (the manifest's), or None when either is absent or
/// unreadable: a run dir is untrusted, and a bad time must not fail the report.
fn run_seconds(started: &str, finished: Option<&str>) -> Option<f64> {
    let parse = |t: &str| chrono::DateTime::parse_from_rfc3339(t).ok();
    let (a, b) = (parse(started)?, parse(finished?)?);
    let s = (b - a).num_milliseconds() as f64 / 1000.0;
    (s >= 0.0).then_some(s)
}

/// The scorecard as a Markdown table with a total row.
pub fn markdown(scores: &[PaperScore]) -> String {
    let header: Vec<String> = ["paper", "claims", "PASS", "FAIL", "MISSING", "run minutes"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let row = |name: &str, c: usize, p: usize, f: usize, m: usize, min: f64| {
        vec![
            name.to_string(),
            c.to_string(),
            p.to_string(),
            f.to_string(),
            m.to_string(),
            format!("{min:.1}"),
        ]
    };
    let mut rows: Vec<Vec<String>> = scores
        .iter()
        .map(|s| row(&s.paper, s.claims, s.pass, s.fail, s.missing, s.minutes))
        .collect();
    let sum = |f: fn(&PaperScore) -> usize| scores.iter().map(f).sum::<usize>();
    rows.push(row(
        "all",
        sum(|s| s.claims),
        sum(|s| s.pass),
        sum(|s| s.fail),
        sum(|s| s.missing),
        scores.iter().map(|s| s.minutes).sum(),
    ));
    markdown_table(&header, &rows, Align::Left)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_seconds_reads_the_manifest_times_and_refuses_nonsense() {
        let t0 = "2026-12-04T18:00:00+00:00";
        assert_eq!(
            run_seconds(t0, Some("2026-12-04T18:01:30.5+00:00")),
            Some(90.5)
        );
        // Another offset, the same instant plus a minute.
        assert_eq!(
            run_seconds(t0, Some("2026-12-04T19:01:00+01:00")),
            Some(60.0)
        );
        assert_eq!(run_seconds(t0, None), None);
        assert_eq!(run_seconds(t0, Some("yesterday")), None);
        assert_eq!(run_seconds("", Some(t0)), None);
        assert_eq!(run_seconds(t0, Some("2026-12-04T17:00:00+00:00")), None);
    }

    #[test]
    fn the_two_zhang_kinds_share_a_row() {
        assert_eq!(paper_of("random_labels"), paper_of("expressivity"));
        assert_eq!(paper_of("rcnn"), "Girshick et al. 2014, R-CNN");
        assert_eq!(paper_of("nonsense"), "kind `nonsense`");
    }

    #[test]
    fn the_table_ends_with_the_totals() {
        let s = |paper: &str, c, p, f, min| PaperScore {
            paper: paper.into(),
            claims: c,
            pass: p,
            fail: f,
            missing: c - p - f,
            minutes: min,
        };
        let md = markdown(&[s("A", 5, 4, 1, 2.2), s("B", 3, 1, 1, 10.0)]);
        let last = md.lines().last().unwrap();
        assert!(last.starts_with("| all "), "{md}");
        let cells: Vec<&str> = last.split('|').map(str::trim).collect();
        assert_eq!(&cells[2..7], &["8", "5", "2", "1", "12.2"], "{md}");
    }
}
