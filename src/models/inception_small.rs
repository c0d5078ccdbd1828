//! The small Inception of Zhang et al. 2017 (their Figure 3, for 28x28 CIFAR-10 crops):
//! a 3x3 conv module, then Inception and Downsample modules as listed in [`BODY`], global mean
//! pooling and a linear classifier. A conv module is convolution -> batch norm -> ReLU (no BN
//! in "Inception w/o BatchNorm"). With a 28x28x3 input it has the paper's 1,649,402 weights
//! (convolution biases included, batch norm's scale and shift not).

use burn::module::Param;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Initializer, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::relu;

use super::alexnet_small::{pooled, scaled};
use super::batch_norm::BatchNorm;
use super::count::Sizes;
use super::fast_conv::conv2d;

/// The stem's channels at width 1.
const STEM: usize = 96;

/// One entry of the body, as the paper's Figure 3 lists it.
#[derive(Clone, Copy, Debug)]
pub enum Stage {
    /// `Inception(ch1, ch3)`: a 1x1 conv module with ch1 filters beside a 3x3 one with ch3,
    /// concatenated.
    Inception(usize, usize),
    /// `Downsample(ch3)`: a 3x3 stride-2 conv module with ch3 filters beside a 3x3 stride-2
    /// max-pool, concatenated.
    Downsample(usize),
}

/// The body of Figure 3, after the 96-channel stem.
pub const BODY: [Stage; 10] = [
    Stage::Inception(32, 32),
    Stage::Inception(32, 48),
    Stage::Downsample(80),
    Stage::Inception(112, 48),
    Stage::Inception(96, 64),
    Stage::Inception(80, 80),
    Stage::Inception(48, 96),
    Stage::Downsample(96),
    Stage::Inception(176, 160),
    Stage::Inception(176, 160),
];

/// Convolution (with bias, "same" padding) -> optional batch norm -> ReLU. Weights start He
/// normal (std `sqrt(2 / fan_in)`, the usual choice for ReLU nets), biases at zero. Without
/// batch norm this 11-layer-deep net did not train on mnist-10k with this init or burn's
/// default (half the He variance) at any rate from 0.1 to 0.0003.
#[derive(Module, Debug)]
pub struct ConvModule {
    conv: Conv2d,
    norm: Option<BatchNorm>,
}

impl ConvModule {
    fn new(
        cin: usize,
        cout: usize,
        kernel: usize,
        stride: usize,
        bn: bool,
        device: &Device,
    ) -> Self {
        let p = kernel / 2;
        let mut conv = Conv2dConfig::new([cin, cout], [kernel, kernel])
            .with_stride([stride, stride])
            .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
            .with_initializer(Initializer::KaimingNormal {
                gain: std::f64::consts::SQRT_2,
                fan_out_only: false,
            })
            .init(device);
        conv.bias = Some(Param::from_tensor(Tensor::zeros([cout], device)));
        Self {
            conv,
            norm: bn.then(|| BatchNorm::new(cout, device)),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let z = conv2d(&self.conv, x);
        relu(match &self.norm {
            Some(norm) => norm.forward(z),
            None => z,
        })
    }
}

/// One body stage: two conv modules (Inception) or a conv module and a max-pool (Downsample).
#[derive(Module, Debug)]
pub struct Block {
    a: ConvModule,
    /// The 3x3 branch of an Inception module; `None` for Downsample (whose second branch is
    /// `pool`).
    b: Option<ConvModule>,
    pool: Option<MaxPool2d>,
}

impl Block {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let second = match (&self.b, &self.pool) {
            (Some(b), _) => b.forward(x.clone()),
            (None, Some(pool)) => pool.forward(x.clone()),
            (None, None) => unreachable!("a block has a second branch"),
        };
        Tensor::cat(vec![self.a.forward(x), second], 1)
    }
}

#[derive(Module, Debug)]
pub struct InceptionSmall {
    stem: ConvModule,
    body: Vec<Block>,
    output: Linear,
}

impl InceptionSmall {
    /// `channels` of the input image; every filter count is scaled by `width` (at least 1).
    pub fn new(channels: usize, classes: usize, width: f64, bn: bool, device: &Device) -> Self {
        let mut c = scaled(STEM, width);
        let stem = ConvModule::new(channels, c, 3, 1, bn, device);
        let mut body = Vec::new();
        for stage in BODY {
            match stage {
                Stage::Inception(ch1, ch3) => {
                    let (ch1, ch3) = (scaled(ch1, width), scaled(ch3, width));
                    body.push(Block {
                        a: ConvModule::new(c, ch1, 1, 1, bn, device),
                        b: Some(ConvModule::new(c, ch3, 3, 1, bn, device)),
                        pool: None,
                    });
                    c = ch1 + ch3;
                }
                Stage::Downsample(ch3) => {
                    let ch3 = scaled(ch3, width);
                    body.push(Block {
                        a: ConvModule::new(c, ch3, 3, 2, bn, device),
                        b: None,
                        pool: Some(
                            MaxPool2dConfig::new([3, 3])
                                .with_strides([2, 2])
                                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                                .init(),
                        ),
                    });
                    c += ch3;
                }
            }
        }
        Self {
            stem,
            body,
            output: LinearConfig::new(c, classes).init(device),
        }
    }

    /// The sizes of [`InceptionSmall::new`]'s net on `[channels, height, width]` images, from
    /// the same [`BODY`] and widths, without building it.
    pub fn sizes(input: [usize; 3], classes: usize, width: f64, bn: bool) -> Sizes {
        let [channels, mut h, mut w] = input;
        let mut s = Sizes::default();
        let conv_module = |s: &mut Sizes, cin, cout, kernel, side: [usize; 2]| {
            s.conv(cin, cout, kernel, side);
            if bn {
                s.batch_norm(cout, side);
            }
        };
        let mut c = scaled(STEM, width);
        conv_module(&mut s, channels, c, 3, [h, w]);
        for stage in BODY {
            match stage {
                Stage::Inception(ch1, ch3) => {
                    let (ch1, ch3) = (scaled(ch1, width), scaled(ch3, width));
                    conv_module(&mut s, c, ch1, 1, [h, w]);
                    conv_module(&mut s, c, ch3, 3, [h, w]);
                    c = ch1.saturating_add(ch3);
                }
                Stage::Downsample(ch3) => {
                    let ch3 = scaled(ch3, width);
                    (h, w) = (pooled(h), pooled(w));
                    conv_module(&mut s, c, ch3, 3, [h, w]);
                    // The max-pool branch.
                    s.output(&[c, h, w]);
                    c = c.saturating_add(ch3);
                }
            }
            // The concatenation.
            s.output(&[c, h, w]);
        }
        s.linear(c, classes);
        s
    }

    /// # Shapes
    /// - `x`: `[batch, channels, height, width]`
    /// - returns `[batch, classes]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let mut x = self.stem.forward(x);
        for block in &self.body {
            x = block.forward(x);
        }
        // Global mean pooling (the paper's 7x7 mean pool on 28x28 inputs).
        let pooled: Tensor<2> = x.mean_dim(3).mean_dim(2).flatten(1, 3);
        self.output.forward(pooled)
    }
}
