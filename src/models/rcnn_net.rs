//! The R-CNN feature network at digit scale: AlexNet's shape (convolutions with ReLU and
//! overlapping 3x3 stride-2 max pooling, then two fully connected layers of equal width with
//! ReLU and dropout 0.5, then a classifier) shrunk to three convolutions on 32x32 warps. The
//! last pooling output is the "pool5" feature, the two hidden layers are "fc6" and "fc7".

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::relu;

use super::alexnet_small::pooled;
use super::count::Sizes;
use super::fast_conv::conv2d;

/// The layer whose activations feed the SVMs (R-CNN Table 2's rows).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    Pool5,
    Fc6,
    Fc7,
}

impl Layer {
    pub const ALL: [Layer; 3] = [Layer::Pool5, Layer::Fc6, Layer::Fc7];

    /// Position in [`Layer::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// The shape of the network.
#[derive(Clone, Debug, PartialEq)]
pub struct RcnnArch {
    /// Side of the square single-channel input.
    pub input: usize,
    /// Output channels of the three convolutions (5x5, 3x3, 3x3), each followed by a pool.
    pub conv_channels: [usize; 3],
    /// Units of fc6 and of fc7.
    pub fc_units: usize,
    pub dropout: f64,
    pub classes: usize,
}

impl RcnnArch {
    /// Side of the pool5 maps.
    pub fn pool5_side(&self) -> usize {
        pooled(pooled(pooled(self.input)))
    }

    pub fn dim(&self, layer: Layer) -> usize {
        match layer {
            Layer::Pool5 => self.conv_channels[2] * self.pool5_side().pow(2),
            Layer::Fc6 | Layer::Fc7 => self.fc_units,
        }
    }

    /// The sizes of [`RcnnNet::new`]'s net, without building it.
    pub fn sizes(&self) -> Sizes {
        let [c1, c2, c3] = self.conv_channels;
        let mut side = self.input;
        let mut s = Sizes::default();
        for (cin, cout, kernel) in [(1, c1, 5), (c1, c2, 3), (c2, c3, 3)] {
            s.conv(cin, cout, kernel, [side, side]);
            side = pooled(side);
            s.output(&[cout, side, side]);
        }
        let pool5 = c3.saturating_mul(side * side);
        s.linear(pool5, self.fc_units);
        s.linear(self.fc_units, self.fc_units);
        s.linear(self.fc_units, self.classes);
        s
    }
}

#[derive(Module, Debug)]
pub struct RcnnNet {
    conv1: Conv2d,
    conv2: Conv2d,
    conv3: Conv2d,
    pool: MaxPool2d,
    fc6: Linear,
    fc7: Linear,
    dropout: Dropout,
    classifier: Linear,
}

/// Activations of one batch at the three feature layers, each `[batch, dim]` (fc6 and fc7
/// after their ReLU, as R-CNN's features).
pub struct Features {
    pub pool5: Tensor<2>,
    pub fc6: Tensor<2>,
    pub fc7: Tensor<2>,
}

impl Features {
    pub fn layer(&self, layer: Layer) -> &Tensor<2> {
        match layer {
            Layer::Pool5 => &self.pool5,
            Layer::Fc6 => &self.fc6,
            Layer::Fc7 => &self.fc7,
        }
    }
}

impl RcnnNet {
    /// A freshly initialized network (burn's default initializers; seed the device first).
    pub fn new(arch: &RcnnArch, device: &Device) -> Self {
        let [c1, c2, c3] = arch.conv_channels;
        let conv = |cin, cout, k: usize| {
            let p = k / 2;
            Conv2dConfig::new([cin, cout], [k, k])
                .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
                .init(device)
        };
        Self {
            conv1: conv(1, c1, 5),
            conv2: conv(c1, c2, 3),
            conv3: conv(c2, c3, 3),
            pool: MaxPool2dConfig::new([3, 3])
                .with_strides([2, 2])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(),
            fc6: LinearConfig::new(arch.dim(Layer::Pool5), arch.fc_units).init(device),
            fc7: LinearConfig::new(arch.fc_units, arch.fc_units).init(device),
            dropout: DropoutConfig::new(arch.dropout).init(),
            classifier: LinearConfig::new(arch.fc_units, arch.classes).init(device),
        }
    }

    /// The same network with a freshly initialized `classes`-way classifier (R-CNN's
    /// fine-tuning replaces ImageNet's 1000-way layer by an N+1-way one).
    pub fn with_classifier(self, classes: usize, device: &Device) -> Self {
        let units = self.fc7.weight.dims()[1];
        Self {
            classifier: LinearConfig::new(units, classes).init(device),
            ..self
        }
    }

    /// # Shapes
    /// - `x`: `[batch, 1, input, input]`
    pub fn features(&self, x: Tensor<4>) -> Features {
        let x = self.pool.forward(relu(conv2d(&self.conv1, x)));
        let x = self.pool.forward(relu(conv2d(&self.conv2, x)));
        let x = self.pool.forward(relu(conv2d(&self.conv3, x)));
        let pool5: Tensor<2> = x.flatten(1, 3);
        let fc6 = relu(self.fc6.forward(pool5.clone()));
        let fc7 = relu(self.fc7.forward(self.dropout.forward(fc6.clone())));
        Features { pool5, fc6, fc7 }
    }

    /// # Shapes
    /// - `x`: `[batch, 1, input, input]`
    /// - returns `[batch, classes]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let f = self.features(x);
        self.classifier.forward(self.dropout.forward(f.fc7))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_sizes_follow_the_arch() {
        let arch = RcnnArch {
            input: 32,
            conv_channels: [8, 16, 16],
            fc_units: 32,
            dropout: 0.5,
            classes: 10,
        };
        assert_eq!(arch.pool5_side(), 4);
        let device = Device::flex();
        let net = RcnnNet::new(&arch, &device);
        let f = net.features(Tensor::zeros([3, 1, 32, 32], &device));
        assert_eq!(f.pool5.dims(), [3, 256]);
        assert_eq!(f.fc6.dims(), [3, 32]);
        assert_eq!(f.fc7.dims(), [3, 32]);
        let sizes = arch.sizes();
        assert_eq!(
            sizes.params,
            crate::models::count::trainable_params(&RcnnNet::new(&arch, &Device::flex().autodiff()))
                as f64
        );
        assert_eq!(
            sizes.activations,
            (8 * 32 * 32
                + 8 * 16 * 16
                + 16 * 16 * 16
                + 16 * 8 * 8
                + 16 * 8 * 8
                + 256
                + 32
                + 32
                + 10) as f64
        );
        let net = net.with_classifier(11, &device);
        assert_eq!(
            net.forward(Tensor::zeros([2, 1, 32, 32], &device)).dims(),
            [2, 11]
        );
    }
}
