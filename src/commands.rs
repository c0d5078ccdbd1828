//! One function per subcommand: glue between the CLI and the library; the only place
//! (with `report`) that prints.

use std::path::{Path, PathBuf};

use crate::cli::{Cli, Command, DataCommand, ExecArgs, ReportFormat, SweepArgs};
use crate::data::{self, DataOptions};
use crate::kinds;
use crate::run::progress::{self, Mode};
use crate::run::session::{self, RunOptions, RunReport};
use crate::run::summary;
use crate::sweep::{self, Plan, cell, local, slurm, status};
use crate::{bail_user, user_error};

pub fn execute(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run {
            spec,
            sets,
            results,
            exec,
        } => {
            let opts = run_options(&exec, results)?;
            let loaded = kinds::load_file(&spec, &sets.sets)?;
            for w in &loaded.warnings {
                progress::note(opts.mode, &format!("warning: {w}"));
            }
            finish(session::start(&loaded, &opts)?)
        }
        Command::Check { spec, sets } => {
            let loaded = kinds::load_file(&spec, &sets.sets)?;
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
        Command::Inspect {
            spec,
            sets,
            variant,
        } => {
            let loaded = kinds::load_file(&spec, &sets.sets)?;
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
            print!("{}", inspect(&loaded, &variant)?);
            Ok(())
        }
        Command::List { dir } => list(&dir),
        Command::Resume { run_dir, exec } => {
            let opts = run_options(&exec, PathBuf::new())?;
            finish(session::resume(&run_dir, &opts)?)
        }
        Command::Sweep(args) => sweep_command(*args),
        Command::RunCell {
            sweep_dir,
            index,
            mut exec,
        } => {
            // Under Slurm, use the CPUs the task was given.
            if exec.threads.is_none() {
                exec.threads = std::env::var("SLURM_CPUS_PER_TASK")
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .filter(|&n: &usize| n > 0);
            }
            let opts = run_options(&exec, PathBuf::new())?;
            match cell::run(&sweep_dir, index, &opts)? {
                cell::Outcome::Ran(report) => finish(report),
                cell::Outcome::AlreadyDone(dir) => {
                    println!("cell {index} had already finished: {}", dir.display());
                    Ok(())
                }
                cell::Outcome::Busy => Err(crate::error::Exit {
                    code: cell::BUSY_EXIT,
                    message: format!(
                        "cell {index} of {} is being run by another process; nothing to do",
                        sweep_dir.display()
                    ),
                }
                .into()),
            }
        }
        Command::Status { sweep_dir } => status_command(&sweep_dir),
        Command::Report {
            dirs,
            check,
            claims,
            format,
            out,
        } => report_command(&dirs, check, &claims, format, out.as_deref()),
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
    println!("{}", summary::table(&report.rows, report.columns));
    if !report.seed_rows.is_empty() {
        println!("Over seeds:\n\n{}", summary::seed_table(&report.seed_rows));
    }
    println!("results: {}", report.dir.display());
    Ok(())
}

fn list(dir: &Path) -> anyhow::Result<()> {
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

fn sweep_command(a: SweepArgs) -> anyhow::Result<()> {
    let mode = Mode::detect(a.exec.quiet);
    if a.jobs == 0 {
        bail_user!("--jobs must be at least 1");
    }
    if a.exec.threads == Some(0) {
        bail_user!("--threads must be at least 1");
    }
    if let Some(d) = &a.exec.device {
        session::make_device(d)?;
    }
    let (plan, text, warnings) = Plan::build(&sweep::Request {
        spec: &a.spec,
        sets: &a.sets.sets,
        grid: &a.grid,
        seeds: a.seeds,
        first_seed: a.first_seed,
    })?;
    for w in &warnings {
        progress::note(mode, &format!("warning: {w}"));
    }
    let dir = a.dir.clone().unwrap_or_else(|| {
        a.results
            .join(&plan.name)
            .join(format!("sweep-{}", plan.digest()))
    });
    let existing = matches!(
        sweep::materialize(&dir, &plan, &text)?,
        sweep::Materialized::Existing(_)
    );
    progress::note(
        mode,
        &format!(
            "sweep {}: {} cells ({} grid point(s) x {} seed(s)){}",
            dir.display(),
            plan.cells.len(),
            plan.cells.len() / plan.seeds.len().max(1),
            plan.seeds.len().max(1),
            if existing { ", continuing" } else { "" }
        ),
    );
    if a.plan_only {
        let rows: Vec<Vec<String>> = plan
            .cells
            .iter()
            .map(|c| vec![c.index.to_string(), c.point.clone(), c.seed.to_string()])
            .collect();
        print!(
            "{}",
            crate::util::table::markdown_table(
                &["cell".into(), "point".into(), "seed".into()],
                &rows,
                crate::util::table::Align::Left
            )
        );
        println!("plan: {}", dir.join("plan.json").display());
        return Ok(());
    }
    let mut extra = Vec::new();
    if let Some(d) = &a.exec.data_dir {
        extra.push("--data-dir".to_string());
        extra.push(std::path::absolute(d)?.display().to_string());
    }
    if let Some(d) = &a.exec.device {
        extra.push("--device".to_string());
        extra.push(d.clone());
    }
    let exe = std::env::current_exe()?;
    if a.slurm.slurm {
        let opts = slurm::Options {
            partition: a.slurm.partition.clone(),
            time: a.slurm.time.clone(),
            cpus_per_task: a.slurm.cpus_per_task,
            gpus: a.slurm.gpus.clone(),
            mem: a.slurm.mem.clone(),
            extra: a.slurm.sbatch.clone(),
            max_parallel: a.jobs,
        };
        let script = slurm::write_script(&dir, &plan, &opts, &exe, &extra)?;
        println!("wrote {}", script.display());
        if a.slurm.submit {
            let job = slurm::submit(&dir, &script, None)?;
            println!(
                "submitted job array {job}: {} tasks, at most {} at once",
                plan.cells.len(),
                a.jobs
            );
        } else {
            println!("submit it with: sbatch {}", script.display());
        }
        println!("follow it with: runner status {}", dir.display());
        println!(
            "then:           runner report {} --out {}",
            dir.display(),
            dir.join("report").display()
        );
        return Ok(());
    }
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    // No more workers than cells; each gets its share of the cores.
    let jobs = a.jobs.min(plan.cells.len()).max(1);
    let threads = a
        .exec
        .threads
        .unwrap_or_else(|| sweep::threads_per_job(jobs));
    if jobs * threads > cores {
        progress::note(
            mode,
            &format!(
                "warning: {jobs} worker(s) x {threads} thread(s) > {cores} cores; they will slow each other down"
            ),
        );
    }
    let outcome = local::run(
        &dir,
        &plan,
        &local::Options {
            jobs,
            threads,
            exe,
            extra,
            mode,
        },
    )?;
    if !outcome.failed.is_empty() {
        let list: Vec<String> = outcome.failed.iter().map(|(i, _)| i.to_string()).collect();
        bail_user!(
            "{} of {} cells failed (cells {}); their logs are in {}; run the same command \
             again to retry them (finished cells are kept)",
            outcome.failed.len(),
            plan.cells.len(),
            list.join(", "),
            dir.join("logs").display()
        );
    }
    // The claims as the spec file states them now (editing claims keeps the sweep).
    let doc = crate::analysis::document::build(
        std::slice::from_ref(&dir),
        std::slice::from_ref(&a.spec),
        Some(&dir.join("report")),
    )?;
    print!("{}", doc.markdown);
    println!("report: {}", dir.join("report").join("report.md").display());
    Ok(())
}

fn status_command(dir: &Path) -> anyhow::Result<()> {
    let st = status::collect(dir)?;
    let rows: Vec<Vec<String>> = st
        .cells
        .iter()
        .map(|c| {
            vec![
                c.index.to_string(),
                c.state.as_str().to_string(),
                c.label.clone(),
                c.detail.clone(),
            ]
        })
        .collect();
    print!(
        "{}",
        crate::util::table::markdown_table(
            &[
                "cell".into(),
                "state".into(),
                "cell is".into(),
                "detail".into()
            ],
            &rows,
            crate::util::table::Align::Left
        )
    );
    use status::CellState as S;
    println!(
        "\n{} cells: {} done, {} running, {} queued, {} failed, {} missing",
        st.cells.len(),
        st.count(S::Done),
        st.count(S::Running),
        st.count(S::Queued),
        st.count(S::Failed),
        st.count(S::Missing)
    );
    let rerun = st.to_rerun();
    if rerun.is_empty() {
        if st.count(S::Done) == st.cells.len() {
            println!("all done: runner report {}", dir.display());
        }
    } else {
        let list = sweep::ranges(&rerun);
        println!("to re-run the failed and missing cells: --array={list}");
        let script = dir.join(slurm::SCRIPT);
        if script.exists() {
            println!("  sbatch --array={list} {}", script.display());
        }
        println!(
            "  or locally: runner sweep {} ... (the same command), or runner run-cell {} N",
            st.plan.spec_source,
            dir.display()
        );
    }
    Ok(())
}

fn report_command(
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
