//! `runner report`: tables, plots and claim verdicts over run directories.

use std::path::{Path, PathBuf};

use crate::cli::ReportFormat;

pub fn report(
    dirs: &[PathBuf],
    check: bool,
    claims: &[PathBuf],
    format: ReportFormat,
    out: Option<&Path>,
) -> anyhow::Result<()> {
    let doc = crate::analysis::document::build(dirs, claims, out)?;
    for (d, why) in &doc.collection.skipped {
        eprintln!("skipped {}: {why}", d.display());
    }
    if check {
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
    if let Some(out) = out {
        eprintln!("wrote {} files to {}", doc.written.len(), out.display());
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
