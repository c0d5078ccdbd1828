//! `runner sweep` (plan a grid of cells, run them here or submit them to Slurm) and
//! `runner status` (where a sweep's cells stand).

use std::path::{Path, PathBuf};

use crate::bail_user;
use crate::cli::SweepArgs;
use crate::run::progress::{self, Mode};
use crate::run::session;
use crate::sweep::{self, Plan, local, slurm, status};
use crate::util::fs::join_inside;
use crate::util::table::{Align, markdown_table};

pub fn sweep(a: SweepArgs) -> anyhow::Result<()> {
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
    let dir = match &a.dir {
        Some(d) => d.clone(),
        None => join_inside(
            &a.results,
            &[&plan.name, &format!("sweep-{}", plan.digest())],
        )?,
    };
    let existing = matches!(
        sweep::materialize(&dir, &plan, &text)?,
        sweep::Materialized::Existing
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
        print_plan(&plan, &dir);
        return Ok(());
    }
    let extra = child_args(&a)?;
    let exe = std::env::current_exe()?;
    if a.slurm.slurm {
        return write_slurm(&a, &dir, &plan, &exe, &extra);
    }
    run_locally(&a, &dir, &plan, exe, extra, mode)?;
    // The claims as the spec file states them now (editing claims keeps the sweep).
    let doc = crate::analysis::document::build(
        std::slice::from_ref(&dir),
        std::slice::from_ref(&a.spec),
        Some(&dir.join("report")),
    )?;
    for w in &doc.warnings {
        progress::note(mode, &format!("warning: {w}"));
    }
    print!("{}", doc.markdown);
    println!("report: {}", dir.join("report").join("report.md").display());
    Ok(())
}

pub fn status(dir: &Path) -> anyhow::Result<()> {
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

/// The cells of a plan as a table (`--plan-only`).
fn print_plan(plan: &Plan, dir: &Path) {
    let rows: Vec<Vec<String>> = plan
        .cells
        .iter()
        .map(|c| vec![c.index.to_string(), c.point.clone(), c.seed.to_string()])
        .collect();
    print!(
        "{}",
        markdown_table(
            &["cell".into(), "point".into(), "seed".into()],
            &rows,
            Align::Left
        )
    );
    println!("plan: {}", dir.join("plan.json").display());
}

/// The `runner run-cell` arguments every cell's process gets from this command line.
fn child_args(a: &SweepArgs) -> anyhow::Result<Vec<String>> {
    let mut extra = Vec::new();
    if let Some(d) = &a.exec.data_dir {
        extra.push("--data-dir".to_string());
        extra.push(std::path::absolute(d)?.display().to_string());
    }
    if let Some(d) = &a.exec.device {
        extra.push("--device".to_string());
        extra.push(d.clone());
    }
    Ok(extra)
}

/// Writes the sweep's Slurm array script and submits it if asked.
fn write_slurm(
    a: &SweepArgs,
    dir: &Path,
    plan: &Plan,
    exe: &Path,
    extra: &[String],
) -> anyhow::Result<()> {
    let opts = slurm::Options {
        partition: a.slurm.partition.clone(),
        time: a.slurm.time.clone(),
        cpus_per_task: a.slurm.cpus_per_task,
        gpus: a.slurm.gpus.clone(),
        mem: a.slurm.mem.clone(),
        extra: a.slurm.sbatch.clone(),
        max_parallel: a.jobs,
    };
    let script = slurm::write_script(dir, plan, &opts, exe, extra)?;
    println!("wrote {}", script.display());
    if a.slurm.submit {
        let job = slurm::submit(dir, &script, None)?;
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
    Ok(())
}

/// Runs the cells here, `--jobs` at a time, each with its share of the cores.
fn run_locally(
    a: &SweepArgs,
    dir: &Path,
    plan: &Plan,
    exe: PathBuf,
    extra: Vec<String>,
    mode: Mode,
) -> anyhow::Result<()> {
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
        dir,
        plan,
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
    Ok(())
}
