//! Command-line interface (clap derive only; behaviour lives in `commands`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::spec::Override;

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
    /// List experiment kinds and the specs under experiments/.
    List {
        /// Directory searched for specs.
        #[arg(long, default_value = "experiments")]
        dir: PathBuf,
    },
    /// Continue an interrupted run from its checkpoints.
    Resume {
        run_dir: PathBuf,
        #[command(flatten)]
        exec: ExecArgs,
    },
    /// Datasets: list what is known and found, fetch, verify checksums.
    Data {
        #[command(subcommand)]
        command: DataCommand,
        /// Directory holding datasets (NAME/ under it); also $RUNNER_DATA.
        #[arg(long, global = true)]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
pub struct SetArgs {
    /// Override a spec key: --set train.lr=0.5, --set variant.bn.train.steps=100.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<Override>,
}

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// Directory holding datasets (NAME/ under it); also $RUNNER_DATA.
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
