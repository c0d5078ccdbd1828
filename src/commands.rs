//! One function per subcommand: glue between the CLI and the library; the only place
//! (with `report`) that prints.

use std::path::{Path, PathBuf};

use crate::cli::{Cli, Command, DataCommand, ExecArgs};
use crate::data::{self, DataOptions};
use crate::experiments;
use crate::report::progress::{self, Mode};
use crate::report::summary;
use crate::session::{self, RunOptions, RunReport};
use crate::spec::{self, Kind};
use crate::user_error;

pub fn execute(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run {
            spec,
            sets,
            results,
            exec,
        } => {
            let opts = run_options(&exec, results)?;
            let loaded = spec::load_file(&spec, &sets.sets)?;
            for w in &loaded.warnings {
                progress::note(opts.mode, &format!("warning: {w}"));
            }
            finish(session::start(&loaded, &opts)?)
        }
        Command::Check { spec, sets } => {
            let loaded = spec::load_file(&spec, &sets.sets)?;
            for w in &loaded.warnings {
                eprintln!("warning: {w}");
            }
            print!("{}", loaded.to_toml()?);
            eprintln!(
                "ok: {} ({}), {} variant(s): {}",
                loaded.name(),
                loaded.first().kind.as_str(),
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
        Command::Inspect {
            spec,
            sets,
            variant,
        } => {
            let loaded = spec::load_file(&spec, &sets.sets)?;
            for w in &loaded.warnings {
                eprintln!("warning: {w}");
            }
            print!("{}", experiments::inspect(&loaded, &variant)?);
            Ok(())
        }
        Command::List { dir } => list(&dir),
        Command::Resume { run_dir, exec } => {
            let opts = run_options(&exec, PathBuf::new())?;
            finish(session::resume(&run_dir, &opts)?)
        }
        Command::Data { command, data_dir } => data_command(
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
    })
}

fn finish(report: RunReport) -> anyhow::Result<()> {
    println!("{}", summary::table(&report.rows));
    if !report.seed_rows.is_empty() {
        println!("Over seeds:\n\n{}", summary::seed_table(&report.seed_rows));
    }
    println!("results: {}", report.dir.display());
    Ok(())
}

fn list(dir: &Path) -> anyhow::Result<()> {
    println!("Experiment kinds:");
    for kind in Kind::ALL {
        println!("  {:<14} {}", kind.as_str(), kind.paper());
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
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let table: toml::Table = toml::from_str(&text).unwrap_or_default();
        let field = |k: &str| {
            table
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        let first_line = field("description")
            .lines()
            .next()
            .unwrap_or("")
            .to_string();
        println!(
            "  {:<44} {:<13} {}",
            path.display(),
            field("kind"),
            first_line
        );
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

fn data_command(command: DataCommand, opts: DataOptions) -> anyhow::Result<()> {
    match command {
        DataCommand::List => {
            println!(
                "{:<14} {:>7} {:>7} {:>7}  found at / how to get",
                "dataset", "classes", "train", "test"
            );
            for d in data::registry::list(&opts) {
                let where_ = match (&d.found, d.fetchable, d.debian_package) {
                    (Some(p), _, _) => p.display().to_string(),
                    (None, true, Some(pkg)) => format!(
                        "not found: `runner data fetch {}` or apt-get install {pkg}",
                        d.name
                    ),
                    (None, true, None) => format!("not found: `runner data fetch {}`", d.name),
                    (None, false, _) => "not found".to_string(),
                };
                println!(
                    "{:<14} {:>7} {:>7} {:>7}  {where_}",
                    d.name, d.num_classes, d.train_size, d.test_size
                );
                println!("{:<14} {}", "", d.description);
            }
            Ok(())
        }
        DataCommand::Fetch { name } => {
            eprintln!("fetching {name} ...");
            let report = data::fetch::fetch(&name, &opts)?;
            for f in &report.files {
                let what = match f.action {
                    data::fetch::Action::Downloaded => "downloaded",
                    data::fetch::Action::AlreadyPresent => "already present",
                };
                println!(
                    "{what:<16} {} ({} bytes, sha256 {})",
                    f.path.display(),
                    f.bytes,
                    f.sha256
                );
            }
            println!("{} is in {}", report.name, report.dir.display());
            Ok(())
        }
        DataCommand::Verify { name } => {
            let names: Vec<String> = match name {
                Some(n) => vec![n],
                None => data::registry::list(&opts)
                    .into_iter()
                    .filter(|d| d.found.is_some())
                    .map(|d| d.name.to_string())
                    .collect(),
            };
            let mut bad = Vec::new();
            for n in &names {
                let report = data::registry::verify(n, &opts)?;
                println!("{} ({}):", report.name, report.dir.display());
                for f in &report.files {
                    println!("  {:?}  {}  {}", f.status, f.sha256, f.path.display());
                }
                if !report.ok() {
                    bad.push(n.clone());
                }
            }
            if bad.is_empty() {
                Ok(())
            } else {
                Err(user_error!("checksum mismatch in: {}", bad.join(", ")))
            }
        }
    }
}
