//! The small AlexNet of Zhang et al. 2017 (Appendix A): two (convolution 5x5 -> max-pool 3x3
//! -> local response normalization) modules, then fully connected layers of 384 and 192 ReLU
//! units and a linear classifier. With 64 channels per convolution (TensorFlow's CIFAR-10
//! model, which this net follows) and a 28x28x3 input it has the paper's 1,387,786 weights.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::relu;
use burn::tensor::module::avg_pool2d;
use burn::tensor::ops::AvgPoolOptions;

use super::count::Sizes;
use super::fast_conv::conv2d;

/// Channels of each convolution and units of the two hidden FC layers at width 1.
const CONV_CHANNELS: usize = 64;
const FC_UNITS: [usize; 2] = [384, 192];

#[derive(Module, Debug)]
pub struct AlexNetSmall {
    conv1: Conv2d,
    conv2: Conv2d,
    pool: MaxPool2d,
    fc1: Linear,
    fc2: Linear,
    output: Linear,
}

impl AlexNetSmall {
    /// `input` is `[channels, height, width]`; every width is scaled by `width` (at least 1).
    pub fn new(input: [usize; 3], classes: usize, width: f64, device: &Device) -> Self {
        let [channels, height, w] = input;
        let c = scaled(CONV_CHANNELS, width);
        let [f1, f2] = FC_UNITS.map(|u| scaled(u, width));
        let conv = |cin, cout| {
            Conv2dConfig::new([cin, cout], [5, 5])
                .with_padding(PaddingConfig2d::Explicit(2, 2, 2, 2))
                .init(device)
        };
        // Two 3x3 stride-2 pools with padding 1 ("SAME"): 28 -> 14 -> 7.
        let spatial = pooled(pooled(height)) * pooled(pooled(w));
        Self {
            conv1: conv(channels, c),
            conv2: conv(c, c),
            pool: MaxPool2dConfig::new([3, 3])
                .with_strides([2, 2])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(),
            fc1: LinearConfig::new(c * spatial, f1).init(device),
            fc2: LinearConfig::new(f1, f2).init(device),
            output: LinearConfig::new(f2, classes).init(device),
        }
    }

    /// The sizes of [`AlexNetSmall::new`]'s net, from the same widths, without building it.
    pub fn sizes(input: [usize; 3], classes: usize, width: f64) -> Sizes {
        let [channels, h1, w1] = input;
        let c = scaled(CONV_CHANNELS, width);
        let [f1, f2] = FC_UNITS.map(|u| scaled(u, width));
        let (h2, w2) = (pooled(h1), pooled(w1));
        let (h4, w4) = (pooled(h2), pooled(w2));
        let mut s = Sizes::default();
        s.conv(channels, c, 5, [h1, w1]);
        // The pool's output and the normalization's.
        s.output(&[2, c, h2, w2]);
        s.conv(c, c, 5, [h2, w2]);
        s.output(&[2, c, h4, w4]);
        s.linear(c.saturating_mul(h4 * w4), f1);
        s.linear(f1, f2);
        s.linear(f2, classes);
        s
    }

    /// # Shapes
    /// - `x`: `[batch, channels, height, width]`
    /// - returns `[batch, classes]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let x = local_response_norm(self.pool.forward(relu(conv2d(&self.conv1, x))));
        let x = local_response_norm(self.pool.forward(relu(conv2d(&self.conv2, x))));
        let x: Tensor<2> = x.flatten(1, 3);
        let x = relu(self.fc1.forward(x));
        let x = relu(self.fc2.forward(x));
        self.output.forward(x)
    }
}

/// `round(units * width)`, at least 1.
pub fn scaled(units: usize, width: f64) -> usize {
    ((units as f64 * width).round() as usize).max(1)
}

/// Output size of a 3x3, stride-2, padding-1 pool or convolution.
pub fn pooled(size: usize) -> usize {
    (size + 2 - 3) / 2 + 1
}

/// TensorFlow's `tf.nn.lrn` with the CIFAR-10 model's settings (depth radius 4, bias 1,
/// alpha 0.001/9, beta 0.75): `x / (1 + alpha * sum of x^2 over the 9 nearest channels)^beta`.
///
/// # Shapes
/// - `x`: `[batch, channels, height, width]`
pub fn local_response_norm(x: Tensor<4>) -> Tensor<4> {
    const RADIUS: usize = 4;
    const ALPHA: f64 = 0.001 / 9.0;
    const BETA: f64 = 0.75;
    let [b, c, h, w] = x.dims();
    let window = 2 * RADIUS + 1;
    // Sum over neighbouring channels: the channel axis becomes a pooled spatial axis.
    let squares: Tensor<4> = x.clone().powi_scalar(2).reshape([b, 1, c, h * w]);
    let options = AvgPoolOptions::new([window, 1])
        .with_stride([1, 1])
        .with_padding([RADIUS, 0])
        .with_count_include_pad(true);
    let sums = avg_pool2d(squares, options)
        .mul_scalar(window as f64)
        .reshape([b, c, h, w]);
    x / sums.mul_scalar(ALPHA).add_scalar(1.0).powf_scalar(BETA)
}
