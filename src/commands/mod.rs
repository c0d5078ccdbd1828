//! One module per subcommand: glue between the CLI and the library, resolving arguments into
//! settings, calling, and printing (with `report`, the only code that prints).

mod check;
mod data;
mod eval;
mod export;
mod list;
mod report;
mod run;
mod sweep;

use std::path::PathBuf;

use crate::analysis;
use crate::cli::{Cli, Command, ExecArgs};
use crate::data::DataOptions;
use crate::run::progress::Mode;
use crate::run::session::{self, RunOptions, RunReport};
use crate::run::summary;
use crate::user_error;

pub fn execute(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run {
            spec,
            sets,
            results,
            exec,
        } => run::run(&spec, &sets.sets, results, &exec),
        Command::Check { spec, sets } => check::check(&spec, &sets.sets),
        Command::Inspect {
            spec,
            sets,
            variant,
        } => check::inspect(&spec, &sets.sets, &variant),
        Command::List { dir, long } => list::list(dir, long),
        Command::Resume {
            run_dir,
            accept_edited_spec,
            exec,
        } => run::resume(&run_dir, accept_edited_spec, &exec),
        Command::Sweep(args) => sweep::sweep(*args),
        Command::RunCell {
            sweep_dir,
            index,
            exec,
        } => run::run_cell(&sweep_dir, index, exec),
        Command::Status { sweep_dir } => sweep::status(&sweep_dir),
        Command::Report {
            dirs,
            check,
            claims,
            format,
            out,
            scorecard,
        } => report::report(&dirs, check, scorecard, &claims, format, out.as_deref()),
        Command::Eval {
            run_dir,
            variant,
            checkpoint,
            sets,
            exec,
        } => eval::eval(&run_dir, variant.as_deref(), &checkpoint, &sets, &exec),
        Command::Export {
            run_dir,
            variant,
            checkpoint,
            out,
        } => export::export(&run_dir, variant.as_deref(), &checkpoint, &out),
        Command::Data { command, data_dir } => data::data(
            command,
            DataOptions {
                data_dir,
                ..Default::default()
            },
        ),
    }
}

fn run_options(exec: &ExecArgs, results: PathBuf) -> anyhow::Result<RunOptions> {
    if let Some(n) = exec.threads {
        if n == 0 {
            return Err(user_error!("--threads must be at least 1"));
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| anyhow::anyhow!("setting up {n} threads: {e}"))?;
    }
    if let Some(d) = &exec.device {
        session::make_device(d)?;
    }
    Ok(RunOptions {
        results,
        data: DataOptions {
            data_dir: exec.data_dir.clone(),
            ..Default::default()
        },
        device: exec.device.clone(),
        mode: Mode::detect(exec.quiet),
        accept_edited_spec: false,
        progress_file: None,
    })
}

/// The end of a run: its table, the seed table, and with `claims` the verdicts of the spec's
/// `[[expect]]` on this run alone (what `runner report DIR --check` says of it).
fn finish(report: RunReport, claims: bool) -> anyhow::Result<()> {
    println!("{}", summary::table(&report.rows, report.columns));
    if !report.seed_rows.is_empty() {
        println!("Over seeds:\n\n{}", summary::seed_table(&report.seed_rows));
    }
    if claims {
        // The run itself succeeded; a claim that cannot be judged is a note, not an error.
        match analysis::document::build(std::slice::from_ref(&report.dir), &[], None) {
            Ok(doc) if !doc.claims.is_empty() => {
                println!("Claims of the paper, on this run:\n");
                print!("{}", analysis::claims::markdown(&doc.claims));
                println!(
                    "(`runner report {} --check` gives the same; a sweep over seeds judges \
                     them over seeds)",
                    report.dir.display()
                );
            }
            Ok(_) => {}
            Err(e) => eprintln!("warning: the claims could not be checked: {e}"),
        }
    }
    println!("results: {}", report.dir.display());
    Ok(())
}
