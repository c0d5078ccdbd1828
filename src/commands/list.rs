//! `runner list`: the registered kinds and the specs under a directory.

use std::path::{Path, PathBuf};

use crate::kinds;

pub fn list(dir: &Path) -> anyhow::Result<()> {
    println!("Experiment kinds:");
    for kind in kinds::registry::KINDS {
        println!("  {:<14} {}", kind.schema.name, kind.paper);
    }
    let mut specs = Vec::new();
    collect_specs(dir, &mut specs);
    specs.sort();
    if specs.is_empty() {
        println!("\nNo specs under {}.", dir.display());
        return Ok(());
    }
    println!("\nSpecs under {}:", dir.display());
    for path in specs {
        // Through the loader, so a spec that would not run says so here.
        let (kind, about) = match kinds::load_file(&path, &[]) {
            Ok(loaded) => {
                let first = loaded.first();
                let line = first.description.lines().next().unwrap_or("").to_string();
                (first.kind.clone(), line)
            }
            Err(e) => ("?".into(), format!("(does not load: {e})")),
        };
        println!("  {:<44} {kind:<13} {about}", path.display());
    }
    Ok(())
}

fn collect_specs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_specs(&p, out);
        } else if p.extension().is_some_and(|x| x == "toml") {
            out.push(p);
        }
    }
}
