//! Running a spec: the session that runs its variants into a run directory, and what a run
//! writes there (manifest, summary, progress on the terminal or in logs).

pub mod finished;
pub mod manifest;
pub mod progress;
pub mod progress_file;
pub mod run_dir;
pub mod session;
pub mod summary;
