//! Everything a run writes for people: run directories, the manifest, summary CSV and
//! tables, and progress on the terminal or in logs.

pub mod aggregate;
pub mod document;
pub mod manifest;
pub mod plots;
pub mod progress;
pub mod run_dir;
pub mod summary;
