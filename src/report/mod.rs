//! Everything a run writes for people: run directories, the manifest, summary CSV and
//! tables, and progress on the terminal or in logs.

pub mod manifest;
pub mod progress;
pub mod run_dir;
pub mod summary;
