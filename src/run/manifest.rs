//! `manifest.json`: what produced a run, so its numbers can be traced and reproduced.

use std::path::Path;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub runner_version: String,
    pub burn_version: String,
    pub backend: String,
    pub threads: usize,
    pub command_line: Vec<String>,
    pub spec_source: Option<String>,
    pub git_commit: Option<String>,
    /// `(file, sha256)` of every dataset file read.
    pub datasets: Vec<(String, String)>,
    pub started: String,
    pub finished: Option<String>,
    /// Start times of later `runner resume` invocations.
    #[serde(default)]
    pub resumed: Vec<String>,
}

impl Manifest {
    pub fn new(
        backend: String,
        spec_source: Option<&Path>,
        datasets: Vec<(String, String)>,
    ) -> Self {
        Self {
            runner_version: env!("CARGO_PKG_VERSION").into(),
            burn_version: "0.22.1".into(),
            backend,
            threads: rayon::current_num_threads(),
            command_line: std::env::args().collect(),
            spec_source: spec_source.map(|p| p.display().to_string()),
            git_commit: git_commit(spec_source),
            datasets,
            started: now(),
            finished: None,
            resumed: Vec::new(),
        }
    }

    pub fn write(&self, run_dir: &Path) -> anyhow::Result<()> {
        crate::util::fs::write_atomic(
            &run_dir.join("manifest.json"),
            &serde_json::to_vec_pretty(self)?,
        )
    }

    pub fn read(run_dir: &Path) -> anyhow::Result<Self> {
        let path = run_dir.join("manifest.json");
        let bytes = std::fs::read(&path)
            .map_err(|e| crate::user_error!("{} is not a run directory: {e}", run_dir.display()))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| crate::user_error!("corrupt manifest {}: {e}", path.display()))
    }
}

pub fn now() -> String {
    chrono::Local::now().to_rfc3339()
}

/// The commit of the repository holding the spec (or the working directory), with `-dirty`
/// when it has uncommitted changes.
fn git_commit(spec: Option<&Path>) -> Option<String> {
    let dir = spec
        .and_then(|p| p.parent())
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let commit = git(&["rev-parse", "HEAD"])?;
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    Some(if dirty {
        format!("{commit}-dirty")
    } else {
        commit
    })
}
