//! One module per experiment kind, each exporting one [`KindDef`]; [`registry`] is the only
//! list of them, and the only place that maps a spec's `kind` to its code.

pub mod bn_ablation;
pub mod context;
pub mod expressivity;
pub mod mobilenet_v2;
pub mod random_labels;
pub mod rcnn;
pub mod registry;
pub mod ssl_reweight;

pub use context::{Context, Datasets};
pub use registry::{find, load_file, load_str};

use crate::config::{DataSpec, ExperimentSpec, KindSchema, LoadedSpec};
use crate::train::Outcome;
use crate::util::table::Column;

/// Everything runner knows about one kind of experiment.
pub struct KindDef {
    /// Its name, section, the generic settings it reads and its checks (for the loader).
    pub schema: KindSchema,
    /// The paper it reproduces, for `runner list`.
    pub paper: &'static str,
    /// Trains (or computes) one variant.
    pub run: fn(&ExperimentSpec, &mut Context) -> anyhow::Result<KindResult>,
    /// The kind's own summary columns shown in the end-of-run table, in order.
    pub columns: &'static [Column],
    /// `runner inspect`: layer tables of the spec's variants, for kinds that have them.
    pub inspect: Option<Inspect>,
    /// Datasets the kind reads besides `data` (loaded with it before any training).
    pub extra_datasets: fn(&ExperimentSpec) -> Vec<DataSpec>,
}

/// `runner inspect`'s report of the named variants (all when none is named).
pub type Inspect = fn(&LoadedSpec, &[String]) -> anyhow::Result<String>;

/// For kinds that read only `data`.
pub fn no_extra_datasets(_: &ExperimentSpec) -> Vec<DataSpec> {
    Vec::new()
}

/// For kinds without checks of their own.
pub fn no_checks(_: &ExperimentSpec, _: &mut Vec<crate::config::Problem>) {}

/// What a kind's `run` returns: the loop's outcome plus the kind's own summary columns.
pub struct KindResult {
    pub outcome: Outcome,
    pub extra: Vec<(String, Option<f64>)>,
}
