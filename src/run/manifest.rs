//! `manifest.json`: what produced a run, so its numbers can be traced and reproduced.

use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::data::Source;
use crate::run::progress::{self, Mode};
use crate::util::hash::sha256_bytes;
use crate::{bail_user, user_error};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub runner_version: String,
    pub burn_version: String,
    pub backend: String,
    pub threads: usize,
    pub command_line: Vec<String>,
    pub spec_source: Option<String>,
    pub git_commit: Option<String>,
    /// `(file, sha256)` of every dataset file read (absolute paths, symlinks resolved).
    pub datasets: Vec<(String, String)>,
    /// Per dataset: where it was found (`--data-dir`, `$RUNNER_DATA`, the shipped copy, ...),
    /// the folder actually read, and each file's SHA-256 with the verdict of its check
    /// against the published one. Absent in manifests of older runners.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<Source>,
    pub started: String,
    pub finished: Option<String>,
    /// Start times of later `runner resume` invocations.
    #[serde(default)]
    pub resumed: Vec<String>,
    /// SHA-256 of the run dir's spec.toml as written when the run started, or as last
    /// accepted by `runner resume --accept-edited-spec`; a resume refuses any other.
    #[serde(default)]
    pub spec_sha256: Option<String>,
    /// The edits of spec.toml that `runner resume --accept-edited-spec` continued with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accepted_spec_edits: Vec<AcceptedEdit>,
}

/// One edit of spec.toml accepted by `runner resume --accept-edited-spec`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AcceptedEdit {
    /// When it was accepted.
    pub at: String,
    /// The spec's SHA-256 before (none for a run of a runner that recorded none).
    pub previous_sha256: Option<String>,
    pub sha256: String,
}

impl Manifest {
    pub fn new(
        backend: String,
        spec_source: Option<&Path>,
        datasets: Vec<(String, String)>,
        data: Vec<Source>,
        spec: &[u8],
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
            data,
            started: now(),
            finished: None,
            resumed: Vec::new(),
            spec_sha256: Some(sha256_bytes(spec)),
            accepted_spec_edits: Vec::new(),
        }
    }

    /// The text of `run_dir`'s spec.toml, once its SHA-256 is the one recorded at the start.
    /// An edited spec (or one of a run whose manifest records no hash) is refused, naming the
    /// file and what to do, unless `accept_edit`: then the edit is recorded here (its time and
    /// the new hash, which later resumes check against), for the caller to write.
    pub fn check_spec(
        &mut self,
        run_dir: &Path,
        accept_edit: bool,
        mode: Mode,
    ) -> anyhow::Result<String> {
        let path = run_dir.join("spec.toml");
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let sha = sha256_bytes(&bytes);
        let manifest = run_dir.join("manifest.json");
        if self.spec_sha256.as_deref() == Some(sha.as_str()) {
            if accept_edit {
                progress::note(
                    mode,
                    &format!(
                        "{} is as the run started with it: no edit to accept",
                        path.display()
                    ),
                );
            }
        } else if !accept_edit {
            let why = match self.spec_sha256 {
                Some(_) => format!(
                    "was edited after the run started (its SHA-256 is not the one {} records)",
                    manifest.display()
                ),
                None => format!(
                    "cannot be checked: {} records no SHA-256 of it (a run of an older runner)",
                    manifest.display()
                ),
            };
            bail_user!(
                "{} {why}; resuming would continue the run under other settings than it \
                 started with. Restore the file, or start a new run with `runner run {}`, or \
                 continue with it as it is now with `runner resume --accept-edited-spec {}` \
                 (recorded in the manifest)",
                path.display(),
                path.display(),
                run_dir.display()
            );
        } else {
            eprintln!(
                "warning: continuing with the edited {} (recorded in {})",
                path.display(),
                manifest.display()
            );
            self.accepted_spec_edits.push(AcceptedEdit {
                at: now(),
                previous_sha256: self.spec_sha256.take(),
                sha256: sha.clone(),
            });
            self.spec_sha256 = Some(sha);
        }
        String::from_utf8(bytes).map_err(|_| user_error!("{} is not UTF-8 text", path.display()))
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
