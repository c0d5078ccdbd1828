//! `runner list`: the registered kinds and the specs under a directory.

use std::path::{Path, PathBuf};

use crate::kinds;

pub fn list(dir: Option<PathBuf>, long: bool) -> anyhow::Result<()> {
    let dir = dir.unwrap_or_else(default_dir);
    let dir = dir.as_path();
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
                let text = if long {
                    first.description.trim().to_string()
                } else {
                    first_sentence(&first.description)
                };
                (first.kind.clone(), text)
            }
            Err(e) => ("?".into(), format!("(does not load: {e})")),
        };
        println!("  {:<44} {kind:<13} {about}", path.display());
    }
    Ok(())
}

/// `./experiments` where it exists, else the one in the repository this binary was built from
/// (so `runner list` works from anywhere in a clone's build).
fn default_dir() -> PathBuf {
    let here = PathBuf::from("experiments");
    if here.is_dir() {
        return here;
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
    if built.is_dir() { built } else { here }
}

/// The description's first sentence on one line: up to the first word ending in `.` that is
/// not an abbreviation (`et al.`, `Fig.`, `e.g.`, an initial), or the whole text.
fn first_sentence(text: &str) -> String {
    const ABBREVIATIONS: [&str; 9] = [
        "al.", "e.g.", "i.e.", "cf.", "vs.", "Fig.", "Eq.", "No.", "Sec.",
    ];
    let words: Vec<&str> = text.split_whitespace().collect();
    let end = words
        .iter()
        .position(|w| {
            let initial = w.len() == 2 && w.starts_with(|c: char| c.is_ascii_uppercase());
            w.ends_with('.') && !initial && !ABBREVIATIONS.contains(w)
        })
        .map_or(words.len(), |i| i + 1);
    words[..end].join(" ")
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
