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
    /// Passes only if every check holds for the mean over seeds and for each seed's own value
    /// (paired by seed with another variant's metric): for effects small against the seed
    /// spread, where a mean can pass on one lucky seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every_seed: Option<bool>,
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
    /// The bound is this many times the referenced value: a ratio bound ("14x fewer steps":
    /// `at_most = { variant = "inception", times = 0.1 }`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<f64>,
}

impl Reference {
    /// The referenced value scaled by `times`.
    pub fn scale(&self, value: f64) -> f64 {
        match self.times {
            Some(t) => t * value,
            None => value,
        }
    }
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
                times: None,
            })),
            toml::Value::Table(t) => toml::Value::Table(t)
                .try_into::<Reference>()
                .map(Bound::Variant)
                .map_err(|e| e.message().trim().to_string()),
            other => Err(format!(
                "expected a number, a variant name, or a table {{ variant = \"...\", metric = \"...\", \
                 step = N, times = X }}, got {}",
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
                if r.metric.is_none()
                    && r.step.is_none()
                    && r.drift_since.is_none()
                    && r.times.is_none() =>
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
                Bound::Variant(r) => {
                    known(&r.variant, key)?;
                    if let Some(t) = r.times
                        && !(t.is_finite() && t > 0.0)
                    {
                        return Err(fail(
                            &format!("{key}.times"),
                            format!("must be a number > 0, got {t}"),
                        ));
                    }
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses and validates the `[[expect]]` of `src` against variants `a` and `b`.
    fn parse(src: &str) -> anyhow::Result<Vec<Expect>> {
        let map = SourceMap::parse(src, "spec.toml")?;
        let mut table: toml::Table = toml::from_str(src)?;
        let expects = take(&mut table, &map)?;
        validate(&expects, &["a", "b"], &map)?;
        Ok(expects)
    }

    const HEAD: &str = "[[expect]]\nclaim = \"x\"\nvariant = \"a\"\nmetric = \"steps\"\n";

    #[test]
    fn times_and_every_seed_are_read_and_kept_in_the_resolved_spec() {
        let e = parse(&format!(
            "{HEAD}every_seed = true\nat_most = {{ variant = \"b\", times = 0.5 }}\n\
             below = {{ variant = \"b\", metric = \"m\", times = 2 }}\n"
        ))
        .unwrap();
        assert_eq!(e[0].every_seed, Some(true));
        let Some(Bound::Variant(r)) = &e[0].at_most else {
            panic!("{:?}", e[0].at_most)
        };
        assert_eq!(
            (r.variant.as_str(), r.times, r.metric.as_ref()),
            ("b", Some(0.5), None)
        );
        assert_eq!(r.scale(30.0), 15.0);
        let Some(Bound::Variant(r)) = &e[0].below else {
            panic!()
        };
        assert_eq!((r.times, r.metric.as_deref()), (Some(2.0), Some("m")));
        // A reference with `times` stays a table when the resolved spec is written.
        let written = toml::to_string(&e[0]).unwrap();
        let back: Expect = toml::from_str(&written).unwrap();
        assert_eq!(back, e[0]);
        assert!(written.contains("times = 0.5"), "{written}");
    }

    #[test]
    fn times_must_be_a_positive_number_and_every_seed_a_boolean() {
        for bad in ["0", "-2", "nan"] {
            let err = parse(&format!(
                "{HEAD}at_most = {{ variant = \"b\", times = {bad} }}\n"
            ))
            .unwrap_err()
            .to_string();
            assert!(
                err.contains("expect.0.at_most.times: must be a number > 0"),
                "{err}"
            );
            assert!(err.starts_with("spec.toml:5:"), "{err}");
        }
        let err = parse(&format!(
            "{HEAD}reach = {{ variant = \"b\", times = -1 }}\nat_most = 3\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("expect.0.reach.times"), "{err}");
        let err = parse(&format!("{HEAD}every_seed = 1\nat_most = 3\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("expect.0.every_seed"), "{err}");
        let err = parse(&format!(
            "{HEAD}at_most = {{ variant = \"b\", tims = 2 }}\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("expect.0.at_most") && err.contains("tims"),
            "{err}"
        );
    }
}
