//! `runner check` (load, validate and print the resolved spec) and `runner inspect` (a kind's
//! layer tables).

use std::path::Path;

use crate::bail_user;
use crate::config::Override;
use crate::kinds;

pub fn check(spec: &Path, sets: &[Override]) -> anyhow::Result<()> {
    let loaded = kinds::load_file(spec, sets)?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    print!("{}", loaded.to_toml()?);
    eprintln!(
        "ok: {} ({}), {} variant(s): {}",
        loaded.name(),
        loaded.first().kind,
        loaded.variants.len(),
        loaded
            .variants
            .iter()
            .map(|v| v.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

pub fn inspect(spec: &Path, sets: &[Override], variants: &[String]) -> anyhow::Result<()> {
    let loaded = kinds::load_file(spec, sets)?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    let kind = kinds::find(&loaded.first().kind)?;
    let Some(inspect) = kind.inspect else {
        let with: Vec<&str> = kinds::registry::KINDS
            .iter()
            .filter(|k| k.inspect.is_some())
            .map(|k| k.schema.name)
            .collect();
        bail_user!(
            "runner inspect does not know kind `{}`; it supports: {}",
            kind.schema.name,
            with.join(", ")
        );
    };
    print!("{}", inspect(&loaded, variants)?);
    Ok(())
}
