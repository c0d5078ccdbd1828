//! `runner report`: tables, plots and claim verdicts over run directories.

use std::path::{Path, PathBuf};

use crate::cli::ReportFormat;

pub fn report(
    dirs: &[PathBuf],
    check: bool,
    scorecard: bool,
    claims: &[PathBuf],
    format: ReportFormat,
    out: Option<&Path>,
) -> anyhow::Result<()> {
    // The files (report.md, plots/*.svg, ...) go beside the runs by default: into DIR/report for
    // one DIR; with several, only where --out says.
    let default_out = match (out, dirs) {
        (None, [one]) => Some(one.join("report")),
        _ => None,
    };
    let out = out.or(default_out.as_deref());
    let doc = crate::analysis::document::build(dirs, claims, out)?;
    for (d, why) in &doc.collection.skipped {
        eprintln!("skipped {}: {why}", d.display());
    }
    for w in &doc.warnings {
        eprintln!("warning: {w}");
    }
    if scorecard {
        let scores = crate::analysis::scorecard::score(&doc.collection);
        print!("{}", crate::analysis::scorecard::markdown(&scores));
    } else if check {
        print!("{}", crate::analysis::claims::markdown(&doc.claims));
    } else {
        match format {
            ReportFormat::Md => print!("{}", doc.markdown),
            ReportFormat::Csv => {
                use std::io::Write;
                std::io::stdout().write_all(&doc.csv)?;
            }
        }
    }
    match out {
        Some(out) => eprintln!("wrote {} files to {}", doc.written.len(), out.display()),
        None => eprintln!("(no report files written: with several DIRs, name a folder with --out)"),
    }
    if check && doc.failed() > 0 {
        return Err(crate::error::Exit {
            code: 3,
            message: format!("{} of {} claim(s) FAIL", doc.failed(), doc.claims.len()),
        }
        .into());
    }
    Ok(())
}
