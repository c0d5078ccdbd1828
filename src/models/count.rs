//! Parameter counting as papers report it: trainable weights only, not BatchNorm's running
//! statistics (which burn's `num_params` includes).

use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;

/// Trainable parameters of a module initialized on an autodiff device.
pub fn trainable_params<M: Module>(model: &M) -> usize {
    struct Counter(usize);
    impl ModuleVisitor for Counter {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let tensor = param.val();
            if tensor.is_require_grad() {
                self.0 += tensor.shape().num_elements();
            }
        }
    }
    let mut counter = Counter(0);
    model.visit(&mut counter);
    counter.0
}

/// A network's sizes known from its shape alone, without building it: a spec's absurd width
/// must be refused before anything is allocated. `f64`, so that no width overflows.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sizes {
    /// Trainable parameters, as [`trainable_params`] counts them on the built network.
    pub params: f64,
    /// Values the layers output for one input (convolutions, poolings, normalizations, fully
    /// connected layers; what autodiff keeps for the backward pass scales with this).
    pub activations: f64,
}

impl Sizes {
    /// A `kernel x kernel` convolution with bias whose output maps are `out[0] x out[1]`.
    pub fn conv(&mut self, cin: usize, cout: usize, kernel: usize, out: [usize; 2]) {
        self.params += (cin as f64 * (kernel * kernel) as f64 + 1.0) * cout as f64;
        self.output(&[cout, out[0], out[1]]);
    }

    /// A fully connected layer with bias.
    pub fn linear(&mut self, fin: usize, fout: usize) {
        self.params += (fin as f64 + 1.0) * fout as f64;
        self.output(&[fout]);
    }

    /// Batch norm's scale and shift over `channels` maps of `side[0] x side[1]`.
    pub fn batch_norm(&mut self, channels: usize, side: [usize; 2]) {
        self.params += 2.0 * channels as f64;
        self.output(&[channels, side[0], side[1]]);
    }

    /// A parameter-free layer (pooling, normalization, concatenation) with output `dims`.
    pub fn output(&mut self, dims: &[usize]) {
        self.activations += dims.iter().map(|&d| d as f64).product::<f64>();
    }
}
