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
