//! runner: reproduces published deep-learning experiments from TOML specs on burn.

pub mod analysis;
pub mod cli;
pub mod commands;
pub mod config;
pub mod data;
pub mod detection;
pub mod error;
pub mod kinds;
pub mod models;
pub mod run;
pub mod sweep;
pub mod train;
pub mod util;
