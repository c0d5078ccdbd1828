//! Command-line interface (clap derive only; behaviour lives in `commands`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::Override;
use crate::sweep::Axis;
use crate::train::saved_model::Which;

#[derive(Parser, Debug)]
#[command(
    name = "runner",
    version,
    about = "Reproduce published deep-learning experiments from TOML specs"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run every variant of a spec into a new run directory.
    Run {
        spec: PathBuf,
        #[command(flatten)]
        sets: SetArgs,
        /// Where run directories go.
        #[arg(long, default_value = "results")]
        results: PathBuf,
        #[command(flatten)]
        exec: ExecArgs,
    },
    /// Validate a spec and print it resolved, without running anything.
    Check {
        spec: PathBuf,
        #[command(flatten)]
        sets: SetArgs,
    },
    /// Print a model's layer table, parameter count and multiply-adds; trains nothing and
    /// reads no data.
    Inspect {
        spec: PathBuf,
        #[command(flatten)]
        sets: SetArgs,
        /// Print the layer table of this variant (repeatable; default: every variant of a
        /// one-variant spec, none of a larger one).
        #[arg(long)]
        variant: Vec<String>,
    },
    /// List experiment kinds and the specs under experiments/ (here, or in the repository this
    /// runner was built from).
    List {
        /// Directory searched for specs (default: ./experiments, else the build's repository's).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Each spec's whole description instead of its first sentence.
        #[arg(long)]
        long: bool,
    },
    /// Continue an interrupted run from its checkpoints.
    Resume {
        run_dir: PathBuf,
        /// Continue although the run dir's spec.toml was edited after the run started
        /// (refused otherwise); the acceptance, its time and the new SHA-256 go into
        /// manifest.json.
        #[arg(long)]
        accept_edited_spec: bool,
        #[command(flatten)]
        exec: ExecArgs,
    },
    /// Run a spec over a grid of overrides and seeds: locally with K workers, or as a Slurm
    /// job array. Running the same command again only runs the cells that did not finish.
    Sweep(Box<SweepArgs>),
    /// Run one cell of a sweep (what each local worker and Slurm array task runs).
    RunCell {
        sweep_dir: PathBuf,
        index: usize,
        #[command(flatten)]
        exec: ExecArgs,
    },
    /// Done / running / queued / failed / missing cells of a sweep, and the --array= list
    /// that re-runs the failed and missing ones.
    Status { sweep_dir: PathBuf },
    /// Tables over runs and sweeps (mean ± std over seeds, the paper's figures beside ours),
    /// learning-curve plots, and the specs' claims checked.
    Report {
        /// Run dirs, sweep dirs, or folders holding them (e.g. results/).
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Print the claim table and exit with status 3 when a claim FAILs.
        #[arg(long)]
        check: bool,
        /// Check the claims of this spec file (matched by `name`) instead of those its runs
        /// were started with (repeatable).
        #[arg(long = "claims", value_name = "SPEC")]
        claims: Vec<PathBuf>,
        /// What to print: Markdown tables or the CSV.
        #[arg(long, value_enum, default_value = "md")]
        format: ReportFormat,
        /// Also write report.md, report.csv, claims.csv and plots/*.svg here.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print one row per paper instead (claims, PASS, FAIL, MISSING, run minutes); with
        /// --check, exit 3 when a claim FAILs.
        #[arg(long)]
        scorecard: bool,
    },
    /// Score a saved model of a run (final, best or a kept checkpoint) on its test set or on
    /// a compatible one: accuracy, loss and the confusion matrix, printed and written as CSV
    /// into the variant's eval/ folder.
    Eval {
        run_dir: PathBuf,
        /// The variant (may be left out when the run has one).
        #[arg(long)]
        variant: Option<String>,
        /// final, best, or the step of a kept checkpoint.
        #[arg(long, default_value = "final")]
        checkpoint: Which,
        /// What the test images are made from: --set data.dataset=fashion-mnist, --set
        /// corruption.images=gaussian (also data.test_limit, data.train_limit, data.whiten,
        /// seed).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<Override>,
        #[command(flatten)]
        exec: ExecArgs,
    },
    /// Write a saved model of a run as safetensors, burn's record and its architecture JSON.
    Export {
        run_dir: PathBuf,
        /// The variant (may be left out when the run has one).
        #[arg(long)]
        variant: Option<String>,
        /// final, best, or the step of a kept checkpoint.
        #[arg(long, default_value = "final")]
        checkpoint: Which,
        /// The folder to write into (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// Datasets: list what is known and found, fetch, verify checksums.
    Data {
        #[command(subcommand)]
        command: DataCommand,
        /// Directory holding datasets (NAME/ under it), the only place they are read from when
        /// set; also $RUNNER_DATA.
        #[arg(long, global = true)]
        data_dir: Option<PathBuf>,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    Md,
    Csv,
}

#[derive(Args, Debug)]
pub struct SweepArgs {
    pub spec: PathBuf,
    /// A grid axis: --grid train.lr=0.05,0.1,0.5 (repeat for more axes; values are TOML,
    /// commas inside [...] do not split).
    #[arg(long = "grid", value_name = "KEY=V1,V2,...")]
    pub grid: Vec<Axis>,
    /// Run N seeds per grid point: the spec's seed and the N-1 after it.
    #[arg(long)]
    pub seeds: Option<usize>,
    /// The first seed with --seeds (default: the spec's `seed`).
    #[arg(long)]
    pub first_seed: Option<u64>,
    #[command(flatten)]
    pub sets: SetArgs,
    /// The sweep directory (default: RESULTS/<name>/sweep-<digest of spec, overrides, grid and
    /// seeds>, so the same command finds the same sweep).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Where default sweep directories go.
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// Cells run at once: local worker processes, or the array's %K limit with --slurm.
    #[arg(long, short = 'j', default_value_t = 1)]
    pub jobs: usize,
    /// Write the plan and print it; run nothing.
    #[arg(long)]
    pub plan_only: bool,
    #[command(flatten)]
    pub exec: ExecArgs,
    #[command(flatten)]
    pub slurm: SlurmArgs,
}

#[derive(Args, Debug)]
pub struct SlurmArgs {
    /// Write SWEEP/sweep.sbatch (a job array, one task per cell) instead of running locally.
    #[arg(long)]
    pub slurm: bool,
    /// With --slurm: submit it with sbatch.
    #[arg(long, requires = "slurm")]
    pub submit: bool,
    /// With --slurm: #SBATCH --partition.
    #[arg(long, requires = "slurm")]
    pub partition: Option<String>,
    /// With --slurm: #SBATCH --time (e.g. 1:00:00).
    #[arg(long, requires = "slurm")]
    pub time: Option<String>,
    /// With --slurm: #SBATCH --cpus-per-task; each task uses that many threads.
    #[arg(long, requires = "slurm", default_value_t = 1)]
    pub cpus_per_task: usize,
    /// With --slurm: #SBATCH --gpus (e.g. 1).
    #[arg(long, requires = "slurm")]
    pub gpus: Option<String>,
    /// With --slurm: #SBATCH --mem (e.g. 4G).
    #[arg(long, requires = "slurm")]
    pub mem: Option<String>,
    /// With --slurm: another #SBATCH line, verbatim (--sbatch=--account=abc).
    #[arg(
        long = "sbatch",
        requires = "slurm",
        value_name = "OPTION",
        allow_hyphen_values = true
    )]
    pub sbatch: Vec<String>,
}

#[derive(Args, Debug)]
pub struct SetArgs {
    /// Override a spec key: --set train.lr=0.5, --set variant.bn.train.steps=100.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<Override>,
}

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// Directory holding datasets (NAME/ under it), the only place they are read from when
    /// set; also $RUNNER_DATA.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Backend for every variant: flex, wgpu or cuda (overrides the spec's `device`).
    #[arg(long)]
    pub device: Option<String>,
    /// Worker threads for the CPU backend (default: all cores). Results are deterministic for
    /// a given thread count.
    #[arg(long)]
    pub threads: Option<usize>,
    /// No progress output.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Subcommand, Debug)]
pub enum DataCommand {
    /// Known datasets and where each was found.
    List,
    /// Download a dataset into the cache, verifying SHA-256 checksums.
    Fetch { name: String },
    /// Check the SHA-256 of a dataset's files (all found datasets if none is named).
    Verify { name: Option<String> },
}
