//! A sweep as a Slurm job array: one task per cell, each running
//! `runner run-cell SWEEP $SLURM_ARRAY_TASK_ID`, at most K at once, a log per task.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::Plan;
use crate::{bail_user, user_error};

#[derive(Clone, Debug, Default)]
pub struct Options {
    pub partition: Option<String>,
    pub time: Option<String>,
    pub cpus_per_task: usize,
    pub gpus: Option<String>,
    pub mem: Option<String>,
    /// More `#SBATCH` lines, verbatim (`--account=x`, `--qos=y`).
    pub extra: Vec<String>,
    /// At most this many tasks at once (`%K`).
    pub max_parallel: usize,
}

pub const SCRIPT: &str = "sweep.sbatch";

/// Writes `SWEEP/sweep.sbatch`. Paths are made absolute: the job runs on another node.
pub fn write_script(
    sweep: &Path,
    plan: &Plan,
    opts: &Options,
    exe: &Path,
    run_cell_args: &[String],
) -> anyhow::Result<PathBuf> {
    let sweep = std::path::absolute(sweep)?;
    let cwd = std::env::current_dir()?;
    let n = plan.cells.len();
    let mut s = String::new();
    let q = shell_quote;
    writeln!(s, "#!/bin/bash")?;
    writeln!(
        s,
        "# Slurm job array written by `runner sweep --slurm`: {n} cells of {} ({}).",
        plan.name, plan.spec_source
    )?;
    writeln!(s, "# Submit all:         sbatch {}", q(&sweep.join(SCRIPT)))?;
    writeln!(
        s,
        "# Only some cells:    sbatch --array=2,5-7 {}   (`runner status {}` prints the list)",
        q(&sweep.join(SCRIPT)),
        q(&sweep)
    )?;
    writeln!(
        s,
        "# A cell that already finished exits at once; an interrupted one resumes from its checkpoints."
    )?;
    writeln!(s, "#SBATCH --job-name=runner-{}", plan.name)?;
    writeln!(
        s,
        "#SBATCH --array=0-{}%{}",
        n.saturating_sub(1),
        opts.max_parallel.max(1)
    )?;
    writeln!(
        s,
        "#SBATCH --output={}",
        sweep.join("logs").join("slurm-%A_%a.out").display()
    )?;
    writeln!(s, "#SBATCH --cpus-per-task={}", opts.cpus_per_task.max(1))?;
    if let Some(p) = &opts.partition {
        writeln!(s, "#SBATCH --partition={p}")?;
    }
    if let Some(t) = &opts.time {
        writeln!(s, "#SBATCH --time={t}")?;
    }
    if let Some(g) = &opts.gpus {
        writeln!(s, "#SBATCH --gpus={g}")?;
    }
    if let Some(m) = &opts.mem {
        writeln!(s, "#SBATCH --mem={m}")?;
    }
    for e in &opts.extra {
        writeln!(s, "#SBATCH {e}")?;
    }
    writeln!(s, "set -eu")?;
    writeln!(s, "cd {}", q(&cwd))?;
    let mut cmd = format!(
        "exec {} run-cell {} \"$SLURM_ARRAY_TASK_ID\" --threads \"${{SLURM_CPUS_PER_TASK:-{}}}\"",
        q(exe),
        q(&sweep),
        opts.cpus_per_task.max(1)
    );
    for a in run_cell_args {
        cmd.push(' ');
        cmd.push_str(&shell_quote(Path::new(a)));
    }
    writeln!(s, "{cmd}")?;
    let path = sweep.join(SCRIPT);
    crate::util::fs::write_atomic(&path, s.as_bytes())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(path)
}

/// Submits the script (optionally only the cells in `array`), returning the job id and
/// recording it in `SWEEP/slurm-jobs.txt` for `runner status`.
pub fn submit(sweep: &Path, script: &Path, array: Option<&str>) -> anyhow::Result<String> {
    let mut cmd = Command::new("sbatch");
    cmd.arg("--parsable");
    if let Some(a) = array {
        cmd.arg(format!("--array={a}"));
    }
    cmd.arg(script);
    let out = cmd.output().map_err(|e| {
        user_error!(
            "cannot run sbatch ({e}); is Slurm installed here? The script is {}",
            script.display()
        )
    })?;
    if !out.status.success() {
        bail_user!(
            "sbatch failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let job = text.trim().split(';').next().unwrap_or("").to_string();
    if job.is_empty() {
        bail_user!("sbatch printed no job id: {text}");
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(sweep.join("slurm-jobs.txt"))?;
    writeln!(
        f,
        "{job} {} {}",
        array.unwrap_or("all"),
        crate::run::manifest::now()
    )?;
    Ok(job)
}

/// Job ids submitted for this sweep.
pub fn submitted_jobs(sweep: &Path) -> Vec<String> {
    std::fs::read_to_string(sweep.join("slurm-jobs.txt"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

/// Array tasks of these jobs that Slurm still knows: `(task index, state)` such as
/// `(3, "PENDING")`; `None` when squeue cannot be asked.
pub fn queued_tasks(jobs: &[String]) -> Option<Vec<(usize, String)>> {
    if jobs.is_empty() {
        return Some(Vec::new());
    }
    let out = Command::new("squeue")
        .args(["-h", "-r", "-o", "%i %T", "-j"])
        .arg(jobs.join(","))
        .output()
        .ok()?;
    if !out.status.success() {
        // squeue fails for job ids it no longer knows; ask one by one.
        if jobs.len() > 1 {
            let mut all = Vec::new();
            for j in jobs {
                all.extend(queued_tasks(std::slice::from_ref(j)).unwrap_or_default());
            }
            return Some(all);
        }
        return Some(Vec::new());
    }
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let (id, state) = l.trim().split_once(' ')?;
                let (_, task) = id.split_once('_')?;
                Some((task.parse().ok()?, state.trim().to_string()))
            })
            .collect(),
    )
}

fn shell_quote(p: &Path) -> String {
    let s = p.display().to_string();
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c))
    {
        s
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}
