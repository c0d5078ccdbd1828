//! runner: reproduces published deep-learning experiments from TOML specs on burn.

pub(crate) mod analysis;
pub mod cli;
pub mod commands;
pub mod config;
pub mod data;
pub mod detection;
pub mod error;
pub mod kinds;
pub mod models;
pub(crate) mod run;
pub(crate) mod sweep;
pub mod train;
pub mod util;
