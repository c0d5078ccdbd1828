//! The whole report of `runner report DIR...`: per-spec tables, learning-curve plots and the
//! claim table, as Markdown, CSV and one HTML page, optionally written to a folder.
//!
//! Nothing in it depends on where the runs are or how long they took, so the report of a
//! sweep that was killed and continued is byte-identical to that of an uninterrupted one.

use std::path::{Path, PathBuf};

use super::aggregate::{self, Collection};
use super::plots::Plotted;
use crate::analysis::claims::{self, ClaimResult, Verdict};

pub struct Document {
    pub collection: Collection,
    /// For the user: groups whose curves could not be drawn, and why.
    pub warnings: Vec<String>,
    pub claims: Vec<ClaimResult>,
    pub markdown: String,
    pub csv: Vec<u8>,
    /// Files written (with `out`).
    pub written: Vec<PathBuf>,
}

impl Document {
    pub fn failed(&self) -> usize {
        claims::count(&self.claims, Verdict::Fail)
    }
}

/// Builds the report of the runs under `dirs`; with `out`, writes `report.md`, `report.csv`,
/// `claims.csv`, `report.html` and `plots/*.svg` there. The claims are those the runs' specs held, except for
/// specs named by a file in `claims_from`, whose current `[[expect]]` entries replace them.
pub fn build(
    dirs: &[PathBuf],
    claims_from: &[PathBuf],
    out: Option<&Path>,
) -> anyhow::Result<Document> {
    let mut collection = aggregate::collect(dirs)?;
    for path in claims_from {
        let spec = crate::kinds::load_file(path, &[])?;
        let mut used = false;
        for g in collection
            .groups
            .iter_mut()
            .filter(|g| g.name == spec.name())
        {
            g.expects = spec.expects.clone();
            used = true;
        }
        if !used {
            crate::bail_user!(
                "--claims {}: no runs of the spec `{}` among the results",
                path.display(),
                spec.name()
            );
        }
    }
    let claims: Vec<ClaimResult> = collection
        .groups
        .iter()
        .flat_map(claims::evaluate)
        .collect();
    let mut plots: Vec<Option<String>> = vec![None; collection.groups.len()];
    // The same plots' SVG text, for report.html to hold inline.
    let mut svgs: Vec<Option<String>> = vec![None; collection.groups.len()];
    let mut written = Vec::new();
    let mut warnings = Vec::new();
    if let Some(out) = out {
        std::fs::create_dir_all(out.join("plots"))
            .map_err(|e| crate::user_error!("cannot create {}: {e}", out.display()))?;
        for (i, g) in collection.groups.iter().enumerate() {
            let file = plot_name(&collection, i);
            let path = out.join("plots").join(&file);
            let title = if g.label.is_empty() {
                g.name.clone()
            } else {
                format!("{}: {}", g.name, g.label)
            };
            match super::plots::learning_curves(g, &title, &path)? {
                Plotted::Curves => {
                    plots[i] = Some(format!("plots/{file}"));
                    svgs[i] = Some(std::fs::read_to_string(&path).map_err(|e| {
                        crate::user_error!("cannot read back {}: {e}", path.display())
                    })?);
                    written.push(path);
                }
                Plotted::OneEvaluation => warnings.push(format!(
                    "{title}: no learning curves: each variant was evaluated once \
                     (eval.every >= train.steps)"
                )),
                Plotted::Nothing => {}
            }
        }
    }
    let markdown = markdown(&collection, &claims, &plots);
    let csv = aggregate::csv(&collection)?;
    let claims_csv = claims::csv(&claims)?;
    if let Some(out) = out {
        let html = super::html::render(&super::html::Page {
            collection: &collection,
            claims: &claims,
            plots: &svgs,
            warnings: &warnings,
        });
        for (name, bytes) in [
            ("report.md", markdown.as_bytes()),
            ("report.csv", &csv[..]),
            ("claims.csv", &claims_csv[..]),
            ("report.html", html.as_bytes()),
        ] {
            let p = out.join(name);
            crate::util::fs::write_atomic(&p, bytes)?;
            written.push(p);
        }
    }
    Ok(Document {
        collection,
        warnings,
        claims,
        markdown,
        csv,
        written,
    })
}

/// `<spec>.svg`, or for one point of a grid `<spec>-<its swept values>.svg`
/// (`bn-train.lr_0.5.svg`), numbered only if two labels slug alike.
fn plot_name(c: &Collection, i: usize) -> String {
    let stem = |j: usize| {
        let g = &c.groups[j];
        if g.label.is_empty() {
            aggregate::slug(&g.name)
        } else {
            aggregate::slug(&format!("{}-{}", g.name, g.label))
        }
    };
    let mine = stem(i);
    let same: Vec<usize> = (0..c.groups.len()).filter(|&j| stem(j) == mine).collect();
    if same.len() == 1 {
        format!("{mine}.svg")
    } else {
        let k = same.iter().position(|&j| j == i).unwrap_or(0) + 1;
        format!("{mine}-{k}.svg")
    }
}

fn markdown(c: &Collection, claims: &[ClaimResult], plots: &[Option<String>]) -> String {
    let mut out = String::from("# Results\n");
    let mut last_name = None;
    for (i, g) in c.groups.iter().enumerate() {
        if last_name != Some(&g.name) {
            out += &format!("\n## {} (`{}`)\n", g.name, g.kind);
            last_name = Some(&g.name);
        }
        if !g.label.is_empty() {
            out += &format!("\n### {}\n", g.label);
        }
        out += &format!(
            "\nMean ± std over {} seed(s) ({}).\n\n",
            g.runs.len(),
            g.seeds().join(", ")
        );
        out += &aggregate::group_table(g);
        if let Some(p) = &plots[i] {
            out += &format!("\n![learning curves]({p})\n");
        }
    }
    out += "\n## Claims\n\n";
    out += &claims::markdown(claims);
    out
}
