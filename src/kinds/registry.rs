//! The registered experiment kinds: adding a kind is its own module plus one line here.

use std::path::Path;

use super::KindDef;
use crate::config::{self, KindSchema, LoadedSpec, Override};

/// Every kind, in the order `runner list` shows them.
pub static KINDS: &[&KindDef] = &[
    &super::bn_ablation::KIND,
    &super::mobilenet_v2::KIND,
    &super::random_labels::KIND,
    &super::expressivity::KIND,
    &super::ssl_reweight::KIND,
    &super::rcnn::KIND,
];

/// The kind a (loaded, hence registered) spec names.
pub fn find(name: &str) -> anyhow::Result<&'static KindDef> {
    KINDS
        .iter()
        .copied()
        .find(|k| k.schema.name == name)
        .ok_or_else(|| anyhow::anyhow!("unknown kind `{name}`"))
}

fn schemas() -> Vec<&'static KindSchema> {
    KINDS.iter().map(|k| &k.schema).collect()
}

/// [`config::load_file`] for the registered kinds.
pub fn load_file(path: &Path, sets: &[Override]) -> anyhow::Result<LoadedSpec> {
    config::load_file(path, sets, &schemas())
}

/// [`config::load_str`] for the registered kinds.
pub fn load_str(src: &str, origin: &str, sets: &[Override]) -> anyhow::Result<LoadedSpec> {
    config::load_str(src, origin, sets, &schemas())
}
