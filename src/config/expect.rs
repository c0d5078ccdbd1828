//! Paper claims as data: a spec's top-level `[[expect]]` entries, checked by
//! `runner report --check` against the results of runs of that spec (analysis/claims.rs).
//!
//! Kind-agnostic: a claim names a variant and a column of its `summary.csv` (or, with `step`,
//! of its `metrics.csv`), and bounds it by a number, by the paper's figure with a tolerance, or
//! by the same (or another) metric of another variant.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::load::{describe_serde_error, did_you_mean};
use super::locate::SourceMap;
use crate::{bail_user, user_error};

/// One claim of the paper about a variant's results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The claim in words, with where the paper makes it.
    pub claim: String,
    /// The variant whose result is checked.
    pub variant: String,
    /// A `summary.csv` column (`final_test_accuracy`, `params`, ...) or a `metrics.csv` column
    /// (`test_accuracy`, `probe_p50`, ...), read at `step` (default: the last evaluation).
    pub metric: String,
    /// With a `metrics.csv` column: the evaluation step to read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<u64>,
    /// Check the drift instead: |value at `step` (or the end) - value at this step|.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_since: Option<u64>,
    /// Check the time to get there instead: the first evaluation step at which the
    /// `metrics.csv` column `metric` is at least this (a number, or another variant's metric in
    /// the same seed's run); never reaching it counts as infinitely many steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reach: Option<Bound>,
    /// The paper's figure, shown beside ours (a fraction for accuracies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paper: Option<f64>,
    /// Passes when |ours - paper| <= tolerance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<f64>,
    /// Passes when |ours - paper| <= rel_tolerance * |paper|.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rel_tolerance: Option<f64>,
    /// Passes when ours >= the bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<Bound>,
    /// Passes when ours <= the bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_most: Option<Bound>,
    /// Passes when ours > the bound + margin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub above: Option<Bound>,
    /// Passes when ours < the bound - margin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below: Option<Bound>,
    /// For `above` / `below`: by how much (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin: Option<f64>,
}

/// What a metric is compared with: a number, another variant's same metric
/// (`above = "baseline"`), or another variant's other metric
/// (`at_least = { variant = "baseline", metric = "final_test_accuracy" }`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "toml::Value", into = "toml::Value")]
pub enum Bound {
    Value(f64),
    Variant(Reference),
}

/// A metric of a variant. Without `metric` it is the claim's own measurement (`metric`,
/// `step`, `drift_since`, `reach`) of this variant; with `metric`, just that value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    pub variant: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_since: Option<u64>,
}

impl TryFrom<toml::Value> for Bound {
    type Error = String;

    fn try_from(v: toml::Value) -> Result<Self, String> {
        match v {
            toml::Value::Float(x) => Ok(Bound::Value(x)),
            toml::Value::Integer(i) => Ok(Bound::Value(i as f64)),
            toml::Value::String(s) => Ok(Bound::Variant(Reference {
                variant: s,
                metric: None,
                step: None,
                drift_since: None,
            })),
            toml::Value::Table(t) => toml::Value::Table(t)
                .try_into::<Reference>()
                .map(Bound::Variant)
                .map_err(|e| e.message().trim().to_string()),
            other => Err(format!(
                "expected a number, a variant name, or a table {{ variant = \"...\", metric = \"...\", \
                 step = N }}, got {}",
                other.type_str()
            )),
        }
    }
}

impl From<Bound> for toml::Value {
    fn from(b: Bound) -> Self {
        match b {
            Bound::Value(x) => toml::Value::Float(x),
            Bound::Variant(r)
                if r.metric.is_none() && r.step.is_none() && r.drift_since.is_none() =>
            {
                toml::Value::String(r.variant)
            }
            Bound::Variant(r) => toml::Value::try_from(r).expect("a struct serializes to a table"),
        }
    }
}

impl Expect {
    /// `(key, bound)` of each comparison this claim makes.
    pub fn bounds(&self) -> Vec<(&'static str, &Bound)> {
        [
            ("at_least", &self.at_least),
            ("at_most", &self.at_most),
            ("above", &self.above),
            ("below", &self.below),
        ]
        .into_iter()
        .filter_map(|(k, b)| b.as_ref().map(|b| (k, b)))
        .collect()
    }
}

/// Removes `expect` from the spec's top-level table and parses it; errors name file:line:col.
pub(super) fn take(base: &mut toml::Table, map: &SourceMap) -> anyhow::Result<Vec<Expect>> {
    let Some(value) = base.remove("expect") else {
        return Ok(Vec::new());
    };
    let toml::Value::Array(items) = value else {
        bail_user!(
            "{}: `expect` must be an array of tables ([[expect]])",
            map.locate("expect")
        );
    };
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let prefix = format!("expect.{i}");
        if !item.is_table() {
            bail_user!(
                "{}: each expect must be a table ([[expect]])",
                map.locate(&prefix)
            );
        }
        let expect: Expect = serde_path_to_error::deserialize(item).map_err(|e| {
            let (path, message) = describe_serde_error(&e, &[]);
            let full = if path.is_empty() {
                prefix.clone()
            } else {
                format!("{prefix}.{path}")
            };
            user_error!("{}: {full}: {message}", map.locate(&full))
        })?;
        out.push(expect);
    }
    Ok(out)
}

/// Checks what needs the variant names: every claim names existing variants and makes at
/// least one check.
pub(super) fn validate(
    expects: &[Expect],
    variants: &[&str],
    map: &SourceMap,
) -> anyhow::Result<()> {
    let names: HashSet<&str> = variants.iter().copied().collect();
    for (i, e) in expects.iter().enumerate() {
        let at = |key: &str| map.locate(&format!("expect.{i}.{key}"));
        let fail = |key: &str, msg: String| user_error!("{}: expect.{i}.{key}: {msg}", at(key));
        let known = |name: &str, key: &str| -> anyhow::Result<()> {
            if names.contains(name) {
                Ok(())
            } else {
                Err(fail(
                    key,
                    format!(
                        "no variant `{name}`{}; variants: {}",
                        did_you_mean(name, variants.iter().copied()),
                        variants.join(", ")
                    ),
                ))
            }
        };
        if e.claim.trim().is_empty() {
            return Err(fail("claim", "must say what the paper claims".into()));
        }
        if e.metric.trim().is_empty() {
            return Err(fail(
                "metric",
                "must name a summary.csv or metrics.csv column".into(),
            ));
        }
        known(&e.variant, "variant")?;
        if e.reach.is_some() && (e.step.is_some() || e.drift_since.is_some()) {
            return Err(fail(
                "reach",
                "measures the steps to reach a value; it does not combine with `step` or \
                 `drift_since`"
                    .into(),
            ));
        }
        let reach = e.reach.as_ref().map(|b| ("reach", b));
        for (key, bound) in e.bounds().into_iter().chain(reach) {
            match bound {
                Bound::Value(x) if !x.is_finite() => {
                    return Err(fail(key, format!("must be a finite number, got {x}")));
                }
                Bound::Value(_) => {}
                Bound::Variant(r) => known(&r.variant, key)?,
            }
        }
        for (key, v) in [
            ("tolerance", e.tolerance),
            ("rel_tolerance", e.rel_tolerance),
            ("margin", e.margin),
        ] {
            if let Some(v) = v
                && !(v.is_finite() && v >= 0.0)
            {
                return Err(fail(key, format!("must be >= 0, got {v}")));
            }
        }
        if (e.tolerance.is_some() || e.rel_tolerance.is_some()) && e.paper.is_none() {
            return Err(fail(
                if e.tolerance.is_some() {
                    "tolerance"
                } else {
                    "rel_tolerance"
                },
                "a tolerance needs the paper's figure: add `paper = ...`".into(),
            ));
        }
        if e.margin.is_some() && e.above.is_none() && e.below.is_none() {
            return Err(fail("margin", "applies to `above` or `below` only".into()));
        }
        if e.tolerance.is_none() && e.rel_tolerance.is_none() && e.bounds().is_empty() {
            return Err(user_error!(
                "{}: expect.{i}: a claim needs a check: `tolerance` or `rel_tolerance` (with \
                 `paper`), `at_least`, `at_most`, `above` or `below`",
                map.locate(&format!("expect.{i}"))
            ));
        }
    }
    Ok(())
}
