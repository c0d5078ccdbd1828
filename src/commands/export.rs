//! `runner export`: a saved model of a run in formats other tools read: safetensors (tensors
//! named by their path in the model), burn's own record, and the architecture beside them.

use std::path::Path;

use anyhow::Context;

use super::eval::open_model;
use crate::bail_user;
use crate::run::session;
use crate::train::saved_model::{ARCHITECTURE, Which};
use crate::util::fs::write_atomic;

pub fn export(run: &Path, variant: Option<&str>, which: &Which, out: &Path) -> anyhow::Result<()> {
    let (name, _, model) = open_model(run, variant, which)?;
    if std::fs::symlink_metadata(out).is_ok_and(|m| !m.is_dir()) {
        bail_user!("--out {}: not a directory", out.display());
    }
    crate::util::fs::create_dir_all(out)?;
    let device = session::make_device("flex")?;
    let net = model.load(&device)?;
    let architecture = std::fs::read(model.dir.join(ARCHITECTURE))
        .with_context(|| format!("reading {}", model.dir.join(ARCHITECTURE).display()))?;
    let metadata = [
        (
            "architecture",
            String::from_utf8_lossy(&architecture).into_owned(),
        ),
        ("variant", name.clone()),
        ("checkpoint", which.to_string()),
        ("step", model.step.to_string()),
    ];
    let written = [
        ("model.safetensors", net.safetensors(&metadata)?),
        ("model.bpk", read(&model.dir.join("model.bpk"))?),
        (ARCHITECTURE, architecture),
    ];
    for (file, bytes) in &written {
        write_atomic(&out.join(file), bytes)?;
    }
    println!(
        "exported {name}, {which} (step {}) to {}: {}",
        model.step,
        out.display(),
        written.map(|(f, _)| f).join(", ")
    );
    Ok(())
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}
