//! Model definitions, one module per architecture family.

pub mod batch_norm;
pub mod count;
pub mod mlp;
pub mod mobilenet_v2;
