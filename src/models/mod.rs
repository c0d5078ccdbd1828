//! Model definitions, one module per architecture family.

pub mod count;
pub mod mlp;
