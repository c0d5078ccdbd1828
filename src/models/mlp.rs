//! The fully connected net of the BN paper's Figure 1: Linear -> [BatchNorm] -> activation ->
//! [dropout] per hidden layer, then a linear classifier.

use burn::module::Param;
use burn::nn::{Dropout, DropoutConfig, Linear};
use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::activation::{relu, sigmoid, tanh};

use super::batch_norm::BatchNorm;
use serde::{Deserialize, Serialize};

/// The hidden layers' non-linearity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    Sigmoid,
    Relu,
    Tanh,
}

/// A fully connected net: hidden widths, non-linearity, batch norm, dropout, init. Serde for
/// the architecture a saved model records (`model/*/architecture.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MlpConfig {
    /// Hidden layer widths.
    pub hidden: Vec<usize>,
    pub activation: Activation,
    /// Batch normalization before each hidden non-linearity (the layer's bias is then dropped).
    pub batch_norm: bool,
    /// Dropout probability after each hidden non-linearity.
    pub dropout: f64,
    /// Standard deviation of the Gaussian weight init; biases start at zero.
    pub init_std: f64,
}

#[derive(Module, Debug)]
pub struct Mlp {
    hidden: Vec<Linear>,
    /// One per hidden layer when batch norm is on, else empty.
    norms: Vec<BatchNorm>,
    output: Linear,
    dropout: Dropout,
    #[module(skip)]
    activation: Activation,
}

/// What one forward pass yields.
pub struct MlpOutput {
    /// `[batch, classes]`
    pub logits: Tensor<2>,
    /// `[batch, last_hidden_width]`: the input to the last hidden layer's non-linearity
    /// (after batch norm where it is on) — what the BN paper's Figure 1(b, c) tracks.
    pub last_pre_activation: Tensor<2>,
    /// `[batch, last_hidden_width]`: the last hidden layer's output, the classifier's input.
    pub features: Tensor<2>,
}

impl Mlp {
    /// Gaussian weights with the spec's std, zero biases (the BN paper's setup). The device's
    /// RNG must be seeded beforehand for a reproducible init.
    pub fn new(spec: &MlpConfig, inputs: usize, classes: usize, device: &Device) -> Self {
        let mut widths = vec![inputs];
        widths.extend(&spec.hidden);
        let hidden = widths
            .windows(2)
            .map(|w| gaussian_linear(w[0], w[1], spec.init_std, !spec.batch_norm, device))
            .collect();
        let norms = if spec.batch_norm {
            spec.hidden
                .iter()
                .map(|&w| BatchNorm::new(w, device))
                .collect()
        } else {
            Vec::new()
        };
        let last = *widths.last().expect("at least the input width");
        Self {
            hidden,
            norms,
            output: gaussian_linear(last, classes, spec.init_std, true, device),
            dropout: DropoutConfig::new(spec.dropout).init(),
            activation: spec.activation,
        }
    }

    /// # Shapes
    /// - `x`: `[batch, inputs]`
    pub fn forward(&self, x: Tensor<2>) -> MlpOutput {
        let mut x = x;
        let mut pre = None;
        for (i, layer) in self.hidden.iter().enumerate() {
            let mut z = layer.forward(x);
            if let Some(norm) = self.norms.get(i) {
                z = norm.forward(z);
            }
            pre = Some(z.clone());
            x = self.dropout.forward(self.activate(z));
        }
        MlpOutput {
            logits: self.output.forward(x.clone()),
            last_pre_activation: pre.expect("validated: at least one hidden layer"),
            features: x,
        }
    }

    fn activate(&self, z: Tensor<2>) -> Tensor<2> {
        match self.activation {
            Activation::Sigmoid => sigmoid(z),
            Activation::Relu => relu(z),
            Activation::Tanh => tanh(z),
        }
    }
}

fn gaussian_linear(inputs: usize, outputs: usize, std: f64, bias: bool, device: &Device) -> Linear {
    let weight = Tensor::random([inputs, outputs], Distribution::Normal(0.0, std), device);
    Linear {
        weight: Param::from_tensor(weight),
        bias: bias.then(|| Param::from_tensor(Tensor::zeros([outputs], device))),
    }
}
