//! Small helpers every layer may use; they import nothing from the rest of the crate.

pub mod alloc;
pub mod fs;
pub mod hash;
pub mod rng;
pub mod stats;
pub mod table;
