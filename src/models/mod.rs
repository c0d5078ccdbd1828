//! Model definitions, one module per architecture family.

pub mod mlp;
