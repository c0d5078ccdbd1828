//! Checking a spec's `[[expect]]` claims against the results of its runs: PASS, FAIL, or
//! MISSING (no result to judge: the variant, column or evaluation step is absent).
//!
//! A claim is judged on the mean over the seeds of a configuration and, with `every_seed`, on
//! each seed's own value as well (the other side of a comparison taken from the same seed's
//! run). A `steps_to_*` column left empty by a finished run means the target was never reached
//! and counts as infinitely many steps.

use std::collections::BTreeMap;
use std::path::Path;

use crate::analysis::aggregate::{Group, Run};
use crate::config::{Bound, Expect, Reference};
use crate::train::metrics::{self, ReadError};
use crate::util::stats::mean_std;
use crate::util::table::{Align, markdown_table};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    Missing,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Missing => "MISSING",
        }
    }
}

#[derive(Clone, Debug)]
pub struct ClaimResult {
    pub spec: String,
    pub config: String,
    pub claim: String,
    pub variant: String,
    /// `test_accuracy@5000`, `drift of probe_p50 5000→end`, `params`.
    pub metric: String,
    /// Our value (mean over seeds), formatted.
    pub ours: String,
    pub paper: String,
    /// The conditions, with the other side's value: `> baseline 91.50%`.
    pub check: String,
    pub verdict: Verdict,
    /// Seeds used, or why it is missing.
    pub note: String,
}

/// A metric of a variant in each of the group's runs, and its mean over them.
struct Value {
    mean: f64,
    /// Per run, in the group's order: `None` where it could not be measured.
    per_run: Vec<Option<f64>>,
    used: usize,
    runs: usize,
    /// Seeds that never reached a `reach` value or `steps_to_*` target.
    never: usize,
}

/// What is measured of a variant: a column, at a step, as a drift, or as the steps to reach
/// a value.
#[derive(Clone)]
struct Probe<'a> {
    metric: &'a str,
    step: Option<u64>,
    drift_since: Option<u64>,
    reach: Option<&'a Bound>,
}

impl<'a> Probe<'a> {
    fn of(e: &'a Expect) -> Self {
        Probe {
            metric: &e.metric,
            step: e.step,
            drift_since: e.drift_since,
            reach: e.reach.as_ref(),
        }
    }

    /// The probe a reference means: the claim's own, or just the named metric.
    fn of_reference(own: &Probe<'a>, r: &'a Reference) -> Self {
        match &r.metric {
            None => Probe {
                step: r.step.or(own.step),
                drift_since: r.drift_since.or(own.drift_since),
                ..own.clone()
            },
            Some(m) => Probe {
                metric: m,
                step: r.step,
                drift_since: r.drift_since,
                reach: None,
            },
        }
    }

    fn name(&self) -> String {
        let m = self.metric;
        if let Some(b) = self.reach {
            let target = match b {
                Bound::Value(x) => show(m, *x),
                Bound::Variant(r) => {
                    let p = Probe::of_reference(
                        &Probe {
                            reach: None,
                            ..self.clone()
                        },
                        r,
                    );
                    format!("{} {}", r.variant, p.name())
                }
            };
            return format!("steps to {m} ≥ {target}");
        }
        match (self.step, self.drift_since) {
            (s, Some(d)) => format!(
                "drift of {m} {d}→{}",
                s.map(|s| s.to_string()).unwrap_or_else(|| "end".into())
            ),
            (Some(s), None) => format!("{m}@{s}"),
            (None, None) => m.to_string(),
        }
    }

    /// The value in one run.
    fn measure(&self, run: &Run, variant: &str) -> Result<f64, String> {
        let metric = self.metric;
        let row = run
            .rows
            .get(variant)
            .ok_or_else(|| format!("no variant `{variant}` in the results"))?;
        if let Some(b) = self.reach {
            let target = match b {
                Bound::Value(x) => *x,
                Bound::Variant(r) => {
                    let own = Probe {
                        reach: None,
                        ..self.clone()
                    };
                    r.scale(Probe::of_reference(&own, r).measure(run, &r.variant)?)
                }
            };
            let history = read_metrics(&run.dir.join(variant).join("metrics.csv"), metric)
                .map_err(|e| format!("`{metric}` of `{variant}`: {e}"))?;
            return Ok(history
                .iter()
                .find(|(_, v)| **v >= target)
                .map(|(s, _)| *s as f64)
                .unwrap_or(f64::INFINITY));
        }
        if self.step.is_none()
            && self.drift_since.is_none()
            && let Some(v) = row.get(metric)
        {
            if v.is_empty() {
                let done = row.get("status").is_some_and(|s| s == "done");
                if metric.starts_with("steps_to") && done {
                    return Ok(f64::INFINITY);
                }
                return Err(format!("`{metric}` of `{variant}` is empty"));
            }
            return v
                .parse::<f64>()
                .map_err(|_| format!("`{metric}` of `{variant}` is not a number: {v}"));
        }
        let history = read_metrics(&run.dir.join(variant).join("metrics.csv"), metric)
            .map_err(|e| format!("`{metric}` of `{variant}`: {e}"))?;
        let at = |s: Option<u64>| -> Result<f64, String> {
            match s {
                Some(s) => history
                    .get(&s)
                    .copied()
                    .ok_or_else(|| format!("`{variant}` has no evaluation at step {s}")),
                None => history
                    .values()
                    .next_back()
                    .copied()
                    .ok_or_else(|| format!("`{variant}` has no evaluations")),
            }
        };
        let v = at(self.step)?;
        match self.drift_since {
            Some(d) => Ok((v - at(Some(d))?).abs()),
            None => Ok(v),
        }
    }

    /// Each run's value and the mean over them (an infinite value, a target never reached,
    /// wins).
    fn value(&self, runs: &[Run], variant: &str) -> Result<Value, String> {
        let mut per_run = Vec::new();
        let mut first_err = None;
        for run in runs {
            match self.measure(run, variant) {
                Ok(v) => per_run.push(Some(v)),
                Err(e) => {
                    first_err.get_or_insert(e);
                    per_run.push(None);
                }
            }
        }
        let values: Vec<f64> = per_run.iter().flatten().copied().collect();
        if values.is_empty() {
            return Err(first_err.unwrap_or_else(|| "no runs".into()));
        }
        let mean = if values.iter().any(|v| v.is_infinite()) {
            values.iter().sum()
        } else {
            mean_std(&values).map(|(m, _)| m).unwrap_or(f64::NAN)
        };
        Ok(Value {
            mean,
            used: values.len(),
            runs: runs.len(),
            never: values.iter().filter(|v| v.is_infinite()).count(),
            per_run,
        })
    }
}

/// `step -> value` of one metrics.csv column.
fn read_metrics(path: &Path, column: &str) -> Result<BTreeMap<u64, f64>, String> {
    let table = metrics::read_table(path).map_err(|e| match e {
        ReadError::Open(_) => "no metrics.csv".to_string(),
        ReadError::Header(e) => e.to_string(),
    })?;
    if table.position(column).is_none() {
        return Err("no such column in summary.csv or metrics.csv".into());
    }
    let history = table
        .column(column)
        .ok_or("metrics.csv has no step column")?;
    match table.unreadable() {
        Some(e) => Err(e.to_string()),
        None => Ok(history),
    }
}

/// Formats a value for people: accuracies in percent, "never" for infinity.
fn show(metric: &str, x: f64) -> String {
    if x.is_infinite() {
        return "never".into();
    }
    let plain = !metric.starts_with("drift of") && !metric.starts_with("steps to");
    // Accuracies are fractions everywhere in runner; a bound scaled past 1 (1.1 × 91%) is
    // still one, so it reads 100.06%, not 1.0006.
    if plain && metric.contains("accuracy") {
        return format!("{:.2}%", 100.0 * x);
    }
    if x.abs() >= 1e6 {
        return format!("{}M", trim(x / 1e6));
    }
    if x.fract() == 0.0 {
        return format!("{x:.0}");
    }
    let mag = x.abs();
    if mag < 1e-3 {
        // Residuals at rounding level (5.8e-11) would all read 0.0000.
        return format!("{x:.1e}");
    }
    if mag >= 1000.0 {
        format!("{x:.0}")
    } else if mag >= 100.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.4}")
    }
}

/// Judges every claim of a group.
pub fn evaluate(group: &Group) -> Vec<ClaimResult> {
    group
        .expects
        .iter()
        .map(|e| ClaimResult {
            spec: group.name.clone(),
            config: group.label.clone(),
            ..judge(&group.runs, e)
        })
        .collect()
}

/// One comparison of a claim with its bound resolved: the mean and each run's value.
struct Comparison {
    key: &'static str,
    mean: f64,
    per_run: Vec<Option<f64>>,
    /// The bound for people: `inception steps to ... 31000`, `0.1 × inception 31000 = 3100`.
    what: String,
}

/// Whether every check of `e` holds for our value `x` against the bounds `bounds`.
fn holds(e: &Expect, x: f64, bounds: &[(&'static str, f64)]) -> bool {
    let mut pass = true;
    if let Some(p) = e.paper {
        // Inclusive, up to rounding: 0.51 is within 0.01 of 0.5.
        let slack = 1e-9 * p.abs().max(1.0);
        if let Some(t) = e.tolerance {
            pass &= (x - p).abs() <= t + slack;
        }
        if let Some(r) = e.rel_tolerance {
            pass &= (x - p).abs() <= r * p.abs() + slack;
        }
    }
    let margin = e.margin.unwrap_or(0.0);
    for &(key, b) in bounds {
        pass &= match key {
            "at_least" => x >= b,
            "at_most" => x <= b,
            "above" => x > b + margin,
            _ => x < b - margin,
        };
    }
    pass
}

fn symbol(key: &str) -> &'static str {
    match key {
        "at_least" => "≥",
        "at_most" => "≤",
        "above" => ">",
        _ => "<",
    }
}

/// Judges one claim on `runs` (one configuration's seeds); `spec` and `config` are left empty.
fn judge(runs: &[Run], e: &Expect) -> ClaimResult {
    let probe = Probe::of(e);
    let metric = probe.name();
    let mut result = ClaimResult {
        spec: String::new(),
        config: String::new(),
        claim: e.claim.clone(),
        variant: e.variant.clone(),
        metric: metric.clone(),
        ours: String::new(),
        paper: e.paper.map(|p| show(&metric, p)).unwrap_or_default(),
        check: describe_checks(e, &metric),
        verdict: Verdict::Missing,
        note: String::new(),
    };
    let ours = match probe.value(runs, &e.variant) {
        Ok(v) => v,
        Err(why) => {
            result.note = why;
            return result;
        }
    };
    result.ours = show(&metric, ours.mean);
    result.note = if ours.used == ours.runs {
        format!("{} seed(s)", ours.used)
    } else {
        format!("{} of {} seeds", ours.used, ours.runs)
    };
    if ours.never > 0 {
        result.note += &format!(", {} never", ours.never);
    }
    let mut comparisons = Vec::new();
    for (key, bound) in e.bounds() {
        comparisons.push(match bound {
            Bound::Value(b) => Comparison {
                key,
                mean: *b,
                per_run: vec![Some(*b); runs.len()],
                what: show(&metric, *b),
            },
            Bound::Variant(r) => {
                let other = Probe::of_reference(&probe, r);
                let other_name = other.name();
                let shown_name = if other_name == metric {
                    r.variant.clone()
                } else {
                    format!("{} {other_name}", r.variant)
                };
                let v = match other.value(runs, &r.variant) {
                    Ok(v) => v,
                    Err(why) => {
                        result.note = why;
                        return result;
                    }
                };
                let mean = r.scale(v.mean);
                let what = match r.times {
                    Some(t) => format!(
                        "{} × {shown_name} {} = {}",
                        ratio(t),
                        show(&other_name, v.mean),
                        show(&metric, mean)
                    ),
                    None => format!("{shown_name} {}", show(&other_name, v.mean)),
                };
                Comparison {
                    key,
                    mean,
                    per_run: v.per_run.iter().map(|x| x.map(|x| r.scale(x))).collect(),
                    what,
                }
            }
        });
    }
    let bounds_at = |run: Option<usize>| -> Option<Vec<(&'static str, f64)>> {
        comparisons
            .iter()
            .map(|c| Some((c.key, run.map_or(Some(c.mean), |i| c.per_run[i])?)))
            .collect()
    };
    let mut pass = holds(e, ours.mean, &bounds_at(None).expect("means are measured"));
    if e.every_seed == Some(true) {
        // A seed without a value on either side cannot be shown to hold.
        let held = (0..runs.len())
            .filter(|&i| {
                ours.per_run[i]
                    .zip(bounds_at(Some(i)))
                    .is_some_and(|(x, bounds)| holds(e, x, &bounds))
            })
            .count();
        pass &= held == runs.len();
        result.ours += &format!(" ({held} of {} seeds hold)", runs.len());
    }
    let mut checks = Vec::new();
    if e.paper.is_some() {
        if let Some(t) = e.tolerance {
            checks.push(format!("within {} of paper", show(&metric, t)));
        }
        if let Some(r) = e.rel_tolerance {
            checks.push(format!("within {}% of paper", trim(100.0 * r)));
        }
    }
    let margin = e.margin.unwrap_or(0.0);
    for c in &comparisons {
        let by = if margin > 0.0 && matches!(c.key, "above" | "below") {
            format!(" by {}", show(&metric, margin))
        } else {
            String::new()
        };
        checks.push(format!("{} {}{by}", symbol(c.key), c.what));
    }
    if e.every_seed == Some(true) {
        checks.push("in every seed".into());
    }
    result.check = checks.join(", ");
    result.verdict = if pass { Verdict::Pass } else { Verdict::Fail };
    result
}

/// The checks of a claim without values, for MISSING rows.
fn describe_checks(e: &Expect, metric: &str) -> String {
    let mut out = Vec::new();
    if let Some(t) = e.tolerance {
        out.push(format!("within {} of paper", show(metric, t)));
    }
    if let Some(r) = e.rel_tolerance {
        out.push(format!("within {}% of paper", trim(100.0 * r)));
    }
    for (key, b) in e.bounds() {
        let what = match b {
            Bound::Value(x) => show(metric, *x),
            Bound::Variant(r) => {
                let named = match &r.metric {
                    Some(m) => format!("{} {m}", r.variant),
                    None => r.variant.clone(),
                };
                match r.times {
                    Some(t) => format!("{} × {named}", ratio(t)),
                    None => named,
                }
            }
        };
        out.push(format!("{} {what}", symbol(key)));
    }
    if e.every_seed == Some(true) {
        out.push("in every seed".into());
    }
    out.join(", ")
}

/// A ratio as people write it: `0.5`, `1.1`, and `1/14` for a bound written `0.071428571`
/// (which three decimals would show as `0.071`, a bound it is not).
fn ratio(t: f64) -> String {
    let decimal = trim(t);
    let exact = decimal
        .parse::<f64>()
        .is_ok_and(|d| (d - t).abs() <= 1e-12 * t.abs());
    if !exact && t > 0.0 && t < 1.0 {
        let inverse = 1.0 / t;
        if inverse.round() >= 3.0 && (inverse - inverse.round()).abs() < 1e-6 * inverse {
            return format!("1/{}", inverse.round());
        }
    }
    decimal
}

fn trim(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

pub fn count(results: &[ClaimResult], v: Verdict) -> usize {
    results.iter().filter(|r| r.verdict == v).count()
}

/// What a report says where no spec declares a claim.
pub const NONE_DECLARED: &str = "No claims: the specs of these runs declare no `[[expect]]`.";

/// The claim table in Markdown, with a closing count.
pub fn markdown(results: &[ClaimResult]) -> String {
    if results.is_empty() {
        return format!("{NONE_DECLARED}\n");
    }
    let (header, rows) = cells(results);
    let mut out = markdown_table(&header, &rows, Align::Left);
    out += &format!("\n{}\n", scorecard(results));
    out
}

/// `8 PASS, 4 FAIL, 2 MISSING`.
pub fn scorecard(results: &[ClaimResult]) -> String {
    format!(
        "{} PASS, {} FAIL, {} MISSING",
        count(results, Verdict::Pass),
        count(results, Verdict::Fail),
        count(results, Verdict::Missing)
    )
}

/// The claim table as cells, one row per result in order (the model that the Markdown and
/// the HTML report both render); the `config` column only where a spec has several.
pub fn cells(results: &[ClaimResult]) -> (Vec<String>, Vec<Vec<String>>) {
    let with_config = results.iter().any(|r| !r.config.is_empty());
    let mut header: Vec<String> = vec!["spec".into()];
    if with_config {
        header.push("config".into());
    }
    header.extend(
        [
            "claim", "variant", "metric", "ours", "paper", "check", "result", "note",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            let mut row = vec![r.spec.clone()];
            if with_config {
                row.push(r.config.clone());
            }
            row.extend([
                r.claim.clone(),
                r.variant.clone(),
                r.metric.clone(),
                r.ours.clone(),
                r.paper.clone(),
                r.check.clone(),
                r.verdict.as_str().to_string(),
                r.note.clone(),
            ]);
            row
        })
        .collect();
    (header, rows)
}

pub fn csv(results: &[ClaimResult]) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "spec", "config", "claim", "variant", "metric", "ours", "paper", "check", "result", "note",
    ])?;
    for r in results {
        w.write_record([
            &r.spec,
            &r.config,
            &r.claim,
            &r.variant,
            &r.metric,
            &r.ours,
            &r.paper,
            &r.check,
            r.verdict.as_str(),
            &r.note,
        ])?;
    }
    Ok(w.into_inner()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Reference;

    /// Runs of seeds 1.. whose summary rows give each variant one column `accuracy`.
    fn runs(values: &[(&str, &[f64])]) -> Vec<Run> {
        runs_of("accuracy", values)
    }

    /// Runs of seeds 1.. whose summary rows give each variant one column `column`.
    fn runs_of(column: &str, values: &[(&str, &[f64])]) -> Vec<Run> {
        let seeds = values[0].1.len();
        (0..seeds)
            .map(|i| Run {
                dir: std::path::PathBuf::from("/nonexistent"),
                seed: Some(i as i64 + 1),
                rows: values
                    .iter()
                    .map(|(v, xs)| {
                        let row = [(column.to_string(), xs[i].to_string())]
                            .into_iter()
                            .collect();
                        (v.to_string(), row)
                    })
                    .collect(),
                columns: vec![column.into()],
                manifest: crate::run::manifest::Manifest::new(
                    String::new(),
                    None,
                    vec![],
                    vec![],
                    b"",
                ),
                spec_text: String::new(),
            })
            .collect()
    }

    fn claim(variant: &str) -> Expect {
        Expect {
            claim: "c".into(),
            variant: variant.into(),
            metric: "accuracy".into(),
            step: None,
            drift_since: None,
            reach: None,
            paper: None,
            tolerance: None,
            rel_tolerance: None,
            at_least: None,
            at_most: None,
            above: None,
            below: None,
            margin: None,
            every_seed: None,
        }
    }

    fn of(variant: &str, times: Option<f64>) -> Bound {
        Bound::Variant(Reference {
            variant: variant.into(),
            metric: None,
            step: None,
            drift_since: None,
            times,
        })
    }

    #[test]
    fn every_seed_fails_a_mean_that_passes_on_one_lucky_seed() {
        let r = runs(&[("bn", &[0.95, 0.86, 0.87]), ("base", &[0.88, 0.88, 0.88])]);
        let mut e = claim("bn");
        e.above = Some(of("base", None));
        let mean_only = judge(&r, &e);
        assert_eq!(mean_only.verdict, Verdict::Pass, "{mean_only:?}");
        e.every_seed = Some(true);
        let strict = judge(&r, &e);
        assert_eq!(strict.verdict, Verdict::Fail);
        assert_eq!(strict.ours, "89.33% (1 of 3 seeds hold)");
        assert_eq!(strict.check, "> base 88.00%, in every seed");
    }

    #[test]
    fn every_seed_pairs_the_other_variant_by_seed() {
        // Each seed's bn beats that seed's baseline, though seed 2's bn is below seed 1's
        // baseline: pairing by seed passes where comparing with the mean alone would not.
        let r = runs(&[("bn", &[0.92, 0.86]), ("base", &[0.90, 0.84])]);
        let mut e = claim("bn");
        e.every_seed = Some(true);
        e.above = Some(of("base", None));
        e.margin = Some(0.01);
        let j = judge(&r, &e);
        assert_eq!(j.verdict, Verdict::Pass, "{j:?}");
        assert_eq!(j.ours, "89.00% (2 of 2 seeds hold)");
        // A fixed bound is the same for every seed.
        let mut e = claim("bn");
        e.every_seed = Some(true);
        e.at_least = Some(Bound::Value(0.87));
        let j = judge(&r, &e);
        assert_eq!(
            (j.verdict, j.ours.as_str()),
            (Verdict::Fail, "89.00% (1 of 2 seeds hold)")
        );
    }

    #[test]
    fn every_seed_counts_a_seed_without_a_value_as_not_holding() {
        let mut r = runs_of("loss", &[("bn", &[2.0, 3.0]), ("base", &[1.0, 1.0])]);
        r[1].rows
            .get_mut("base")
            .unwrap()
            .insert("loss".into(), String::new());
        let mut e = claim("bn");
        e.metric = "loss".into();
        e.every_seed = Some(true);
        e.above = Some(of("base", None));
        let j = judge(&r, &e);
        assert_eq!(
            (j.verdict, j.ours.as_str()),
            (Verdict::Fail, "2.5000 (1 of 2 seeds hold)")
        );
    }

    #[test]
    fn times_makes_a_ratio_bound() {
        // "14x fewer steps": at most 0.1 times the other's steps.
        let r = runs_of(
            "steps",
            &[("bn", &[300.0, 340.0]), ("inception", &[3000.0, 3400.0])],
        );
        let mut e = claim("bn");
        e.metric = "steps".into();
        e.at_most = Some(of("inception", Some(0.1)));
        let j = judge(&r, &e);
        assert_eq!(j.verdict, Verdict::Pass, "{j:?}");
        assert_eq!(j.check, "≤ 0.1 × inception 3200 = 320");
        e.at_most = Some(of("inception", Some(0.09)));
        assert_eq!(judge(&r, &e).verdict, Verdict::Fail);
        // Paired by seed, the ratio holds in each seed: 300 ≤ 300, 340 ≤ 340.
        e.at_most = Some(of("inception", Some(0.1)));
        e.every_seed = Some(true);
        assert_eq!(judge(&r, &e).ours, "320 (2 of 2 seeds hold)");
        // With another metric, and on the MISSING row's description.
        let mut e = claim("bn");
        e.metric = "steps".into();
        e.below = Some(Bound::Variant(Reference {
            metric: Some("accuracy".into()),
            ..match of("nope", Some(0.5)) {
                Bound::Variant(r) => r,
                _ => unreachable!(),
            }
        }));
        let j = judge(&r, &e);
        assert_eq!(j.verdict, Verdict::Missing);
        assert_eq!(j.check, "< 0.5 × nope accuracy");
    }

    #[test]
    fn tiny_values_are_shown_in_scientific_notation() {
        assert_eq!(show("max_residual", 5.8e-11), "5.8e-11");
        assert_eq!(show("max_residual", 1e-6), "1.0e-6");
        assert_eq!(show("max_residual", 0.25), "0.2500");
    }

    #[test]
    fn never_reaching_a_target_fails_a_ratio_bound_on_a_finite_bound() {
        let r = runs(&[("bn", &[f64::INFINITY]), ("inception", &[3000.0])]);
        let mut e = claim("bn");
        e.at_most = Some(of("inception", Some(0.5)));
        let j = judge(&r, &e);
        assert_eq!((j.verdict, j.ours.as_str()), (Verdict::Fail, "never"));
    }

    #[test]
    fn ratios_and_scaled_accuracies_read_as_written() {
        assert_eq!(ratio(1.0 / 14.0), "1/14");
        assert_eq!(ratio(0.071428571), "1/14");
        // 0.0714 is not 1/14: shown as the number it is.
        assert_eq!(ratio(0.0714), "0.071");
        assert_eq!(ratio(0.5), "0.5");
        assert_eq!(ratio(1.1), "1.1");
        assert_eq!(show("final_test_accuracy", 1.1 * 0.9097), "100.07%");
        assert_eq!(show("final_test_accuracy", 0.9097), "90.97%");
        assert_eq!(show("map", 0.5), "0.5000");
    }
}
