//! Model definitions, one module per architecture family.

pub mod alexnet_small;
pub mod batch_norm;
#[cfg(feature = "flex")]
pub mod batch_norm_op;
pub mod classifier;
pub mod count;
#[cfg(feature = "flex")]
pub mod depthwise;
pub mod fast_conv;
pub mod finite_sample;
#[cfg(feature = "flex")]
pub mod flex_data;
#[cfg(feature = "flex")]
pub mod gemm_conv;
pub mod inception_small;
pub mod mlp;
pub mod mobilenet_v2;
pub mod pointwise;
pub mod rcnn_net;
#[cfg(feature = "flex")]
pub mod relu6_op;
