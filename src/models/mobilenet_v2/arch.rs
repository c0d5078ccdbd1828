//! MobileNetV2's architecture as data: the paper's Table 2 rows become an [`Arch`], every
//! layer with its shapes, parameters and multiply-adds, computed without tensors. Channel
//! rounding follows the reference implementations (TF-slim / torchvision `_make_divisible`).

use serde::{Deserialize, Serialize};

/// The paper's Table 2 bottleneck rows `(t, c, n, s)`: expansion factor, output channels,
/// repeats, stride of the first repeat. The stem (3x3 conv, 32 channels, stride 2) and the
/// head (1x1 conv to 1280, average pool, classifier) are the other fields of [`NetConfig`].
pub const TABLE2: [[usize; 4]; 7] = [
    [1, 16, 1, 1],
    [6, 24, 2, 2],
    [6, 32, 3, 2],
    [6, 64, 4, 2],
    [6, 96, 3, 1],
    [6, 160, 3, 2],
    [6, 320, 1, 1],
];

/// What follows the 1x1 projection of a bottleneck (Figure 6a).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BottleneckActivation {
    /// Nothing: the paper's linear bottleneck.
    Linear,
    /// ReLU6, as after the other convolutions (the ablation).
    Relu6,
}

/// Where the shortcut connections go (Figure 6b).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Residual {
    /// Between the thin bottlenecks: a block's input is added to its projection output when
    /// its stride is 1 and its input and output channels match (the paper's design).
    Bottleneck,
    /// Between the wide expansion layers: a block's expansion output is added to the next
    /// block's expansion output when both have the same width and the block's stride is 1
    /// (the classical residual layout, in the same network).
    Expansion,
    /// No shortcuts.
    None,
}

/// A MobileNetV2 before the input and class counts are known; the paper's network (Table 2,
/// width 1.0, 224x224, linear bottlenecks, shortcuts between bottlenecks) by default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetConfig {
    pub width_multiplier: f64,
    pub resolution: usize,
    pub stem_channels: usize,
    pub stem_stride: usize,
    pub rows: Vec<[usize; 4]>,
    pub last_channels: usize,
    pub round_to: usize,
    pub bottleneck_activation: BottleneckActivation,
    pub residual: Residual,
    pub dropout: f64,
}

impl Default for NetConfig {
    fn default() -> Self {
        Self {
            width_multiplier: 1.0,
            resolution: 224,
            stem_channels: 32,
            stem_stride: 2,
            rows: TABLE2.to_vec(),
            last_channels: 1280,
            round_to: 8,
            bottleneck_activation: BottleneckActivation::Linear,
            residual: Residual::Bottleneck,
            // The reference implementations' dropout before the classifier.
            dropout: 0.2,
        }
    }
}

/// `v` rounded to the nearest multiple of `divisor`, not below `divisor` and not more than
/// 10% below `v` (the reference implementations' `_make_divisible`).
pub fn make_divisible(v: f64, divisor: usize) -> usize {
    let d = divisor as f64;
    let mut rounded = ((v + d / 2.0) / d).floor() * d;
    rounded = rounded.max(d);
    if rounded < 0.9 * v {
        rounded += d;
    }
    rounded as usize
}

/// Output side of a `k x k` conv with padding `k / 2` and stride `s`.
fn out_size(input: usize, kernel: usize, stride: usize) -> usize {
    let pad = kernel / 2;
    (input + 2 * pad - kernel) / stride + 1
}

/// One convolution (no bias), followed by BatchNorm and optionally ReLU6.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvPlan {
    pub in_channels: usize,
    pub out_channels: usize,
    pub kernel: usize,
    pub stride: usize,
    pub groups: usize,
    pub in_size: usize,
    pub out_size: usize,
    pub relu6: bool,
}

impl ConvPlan {
    fn new(
        [in_channels, out_channels]: [usize; 2],
        kernel: usize,
        stride: usize,
        groups: usize,
        in_size: usize,
        relu6: bool,
    ) -> Self {
        Self {
            in_channels,
            out_channels,
            kernel,
            stride,
            groups,
            in_size,
            out_size: out_size(in_size, kernel, stride),
            relu6,
        }
    }

    /// Conv weights plus BN gamma and beta.
    pub fn params(&self) -> usize {
        self.out_channels * (self.in_channels / self.groups) * self.kernel * self.kernel
            + 2 * self.out_channels
    }

    /// Multiply-adds of the convolution (BN, activations and additions are not counted, as
    /// in the paper).
    pub fn madds(&self) -> usize {
        self.out_size
            * self.out_size
            * self.out_channels
            * (self.in_channels / self.groups)
            * self.kernel
            * self.kernel
    }
}

/// One inverted residual block (Table 1): optional 1x1 expansion, 3x3 depthwise, 1x1 projection.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockPlan {
    /// Which spec row (0-based) the block comes from.
    pub row: usize,
    pub expansion: usize,
    pub stride: usize,
    /// `None` when t = 1: the depthwise conv then works on the block input directly.
    pub expand: Option<ConvPlan>,
    pub depthwise: ConvPlan,
    pub project: ConvPlan,
    /// The block's input is added to its output.
    pub bottleneck_shortcut: bool,
    /// The previous block's expansion output is added to this block's expansion output.
    pub expansion_shortcut: bool,
}

impl BlockPlan {
    pub fn in_channels(&self) -> usize {
        self.expand.as_ref().unwrap_or(&self.depthwise).in_channels
    }

    pub fn out_channels(&self) -> usize {
        self.project.out_channels
    }

    pub fn in_size(&self) -> usize {
        self.expand.as_ref().unwrap_or(&self.depthwise).in_size
    }

    pub fn out_size(&self) -> usize {
        self.project.out_size
    }

    /// Width of the expansion (the depthwise layer's channels).
    pub fn hidden(&self) -> usize {
        self.depthwise.in_channels
    }

    pub fn convs(&self) -> impl Iterator<Item = &ConvPlan> {
        self.expand.iter().chain([&self.depthwise, &self.project])
    }

    pub fn params(&self) -> usize {
        self.convs().map(ConvPlan::params).sum()
    }

    pub fn madds(&self) -> usize {
        self.convs().map(ConvPlan::madds).sum()
    }
}

/// A whole MobileNetV2 as data: every layer with its shapes, parameters and multiply-adds.
#[derive(Clone, Debug, PartialEq)]
pub struct Arch {
    pub width_multiplier: f64,
    pub resolution: usize,
    pub in_channels: usize,
    pub classes: usize,
    pub stem: ConvPlan,
    pub blocks: Vec<BlockPlan>,
    /// The last 1x1 conv (to 1280 channels at width <= 1).
    pub head: ConvPlan,
    pub dropout: f64,
    pub bottleneck_activation: BottleneckActivation,
    pub residual: Residual,
}

impl Arch {
    /// The network a spec describes, for `in_channels`-channel images and `classes` outputs.
    pub fn new(spec: &NetConfig, in_channels: usize, classes: usize) -> Self {
        let w = spec.width_multiplier;
        let round = |c: usize| make_divisible(c as f64 * w, spec.round_to);
        let stem_out = round(spec.stem_channels);
        let stem = ConvPlan::new(
            [in_channels, stem_out],
            3,
            spec.stem_stride,
            1,
            spec.resolution,
            true,
        );
        let mut blocks: Vec<BlockPlan> = Vec::new();
        let (mut channels, mut size) = (stem_out, stem.out_size);
        let relu6_after_project = spec.bottleneck_activation == BottleneckActivation::Relu6;
        for (row, &[t, c, n, s]) in spec.rows.iter().enumerate() {
            let out = round(c);
            for i in 0..n {
                let stride = if i == 0 { s } else { 1 };
                let hidden = (channels as f64 * t as f64).round() as usize;
                let expand =
                    (t != 1).then(|| ConvPlan::new([channels, hidden], 1, 1, 1, size, true));
                let depthwise = ConvPlan::new([hidden, hidden], 3, stride, hidden, size, true);
                let dw_out = depthwise.out_size;
                let project = ConvPlan::new([hidden, out], 1, 1, 1, dw_out, relu6_after_project);
                let bottleneck_shortcut =
                    spec.residual == Residual::Bottleneck && stride == 1 && channels == out;
                let expansion_shortcut = spec.residual == Residual::Expansion
                    && expand.is_some()
                    && blocks.last().is_some_and(|prev| {
                        prev.expand.is_some()
                            && prev.stride == 1
                            && prev.hidden() == hidden
                            && prev.in_size() == size
                    });
                blocks.push(BlockPlan {
                    row,
                    expansion: t,
                    stride,
                    expand,
                    depthwise,
                    project,
                    bottleneck_shortcut,
                    expansion_shortcut,
                });
                (channels, size) = (out, dw_out);
            }
        }
        let last = make_divisible(spec.last_channels as f64 * w.max(1.0), spec.round_to);
        let head = ConvPlan::new([channels, last], 1, 1, 1, size, true);
        Self {
            width_multiplier: w,
            resolution: spec.resolution,
            in_channels,
            classes,
            stem,
            blocks,
            head,
            dropout: spec.dropout,
            bottleneck_activation: spec.bottleneck_activation,
            residual: spec.residual,
        }
    }

    pub fn classifier_params(&self) -> usize {
        self.head.out_channels * self.classes + self.classes
    }

    pub fn classifier_madds(&self) -> usize {
        self.head.out_channels * self.classes
    }

    /// Trainable parameters: conv weights, BN gamma/beta, classifier weights and biases.
    pub fn params(&self) -> usize {
        self.stem.params()
            + self.blocks.iter().map(BlockPlan::params).sum::<usize>()
            + self.head.params()
            + self.classifier_params()
    }

    /// Multiply-adds of one forward pass of one image (convolutions and the classifier).
    pub fn madds(&self) -> usize {
        self.stem.madds()
            + self.blocks.iter().map(BlockPlan::madds).sum::<usize>()
            + self.head.madds()
            + self.classifier_madds()
    }

    /// One row per layer group: stem, each bottleneck block, head conv, pool, classifier.
    pub fn layers(&self) -> Vec<LayerRow> {
        let mut rows = vec![LayerRow {
            name: "stem".into(),
            operator: "conv2d 3x3".into(),
            input: [self.stem.in_size, self.stem.in_channels],
            output: [self.stem.out_size, self.stem.out_channels],
            t: None,
            stride: self.stem.stride,
            shortcut: "",
            params: self.stem.params(),
            madds: self.stem.madds(),
        }];
        for (i, b) in self.blocks.iter().enumerate() {
            rows.push(LayerRow {
                name: format!("block{}", i + 1),
                operator: format!("bottleneck (row {})", b.row + 1),
                input: [b.in_size(), b.in_channels()],
                output: [b.out_size(), b.out_channels()],
                t: Some(b.expansion),
                stride: b.stride,
                shortcut: if b.bottleneck_shortcut {
                    "bottleneck"
                } else if b.expansion_shortcut {
                    "expansion"
                } else {
                    ""
                },
                params: b.params(),
                madds: b.madds(),
            });
        }
        let h = &self.head;
        rows.push(LayerRow {
            name: "head".into(),
            operator: "conv2d 1x1".into(),
            input: [h.in_size, h.in_channels],
            output: [h.out_size, h.out_channels],
            t: None,
            stride: 1,
            shortcut: "",
            params: h.params(),
            madds: h.madds(),
        });
        rows.push(LayerRow {
            name: "pool".into(),
            operator: format!("avgpool {0}x{0}", h.out_size),
            input: [h.out_size, h.out_channels],
            output: [1, h.out_channels],
            t: None,
            stride: 1,
            shortcut: "",
            params: 0,
            madds: 0,
        });
        rows.push(LayerRow {
            name: "classifier".into(),
            operator: if self.dropout > 0.0 {
                format!("dropout {} + linear", self.dropout)
            } else {
                "linear".into()
            },
            input: [1, h.out_channels],
            output: [1, self.classes],
            t: None,
            stride: 1,
            shortcut: "",
            params: self.classifier_params(),
            madds: self.classifier_madds(),
        });
        rows
    }

    /// The layer table as Markdown, ending with the totals.
    pub fn layer_table(&self) -> String {
        let mut out = String::from(
            "| layer | operator | input | t | output | s | shortcut | params | MAdds |\n\
             |---|---|---|---|---|---|---|---:|---:|\n",
        );
        for r in self.layers() {
            out += &format!(
                "| {} | {} | {}x{}x{} | {} | {}x{}x{} | {} | {} | {} | {} |\n",
                r.name,
                r.operator,
                r.input[0],
                r.input[0],
                r.input[1],
                r.t.map(|t| t.to_string()).unwrap_or_else(|| "-".into()),
                r.output[0],
                r.output[0],
                r.output[1],
                r.stride,
                r.shortcut,
                r.params,
                r.madds
            );
        }
        out += &format!(
            "| total | | | | | | | {} | {} |\n",
            self.params(),
            self.madds()
        );
        out
    }
}

/// One row of [`Arch::layers`]; sizes are `[side, channels]`.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerRow {
    pub name: String,
    pub operator: String,
    pub input: [usize; 2],
    pub output: [usize; 2],
    pub t: Option<usize>,
    pub stride: usize,
    pub shortcut: &'static str,
    pub params: usize,
    pub madds: usize,
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    #[test]
    fn make_divisible_matches_the_reference() {
        // torchvision's _make_divisible(v, 8) on values the width multipliers produce.
        assert_eq!(make_divisible(32.0 * 0.35, 8), 16);
        assert_eq!(make_divisible(16.0 * 0.35, 8), 8);
        assert_eq!(make_divisible(24.0 * 0.35, 8), 8);
        assert_eq!(make_divisible(96.0 * 0.35, 8), 32);
        assert_eq!(make_divisible(160.0 * 0.75, 8), 120);
        assert_eq!(make_divisible(24.0 * 1.4, 8), 32);
        assert_eq!(make_divisible(1280.0 * 1.4, 8), 1792);
        assert_eq!(make_divisible(320.0 * 0.5, 8), 160);
    }

    #[test]
    fn table2_shapes_at_224() {
        let arch = Arch::new(&NetConfig::default(), 3, 1000);
        assert_eq!(
            arch.blocks.len(),
            TABLE2.iter().map(|r| r[2]).sum::<usize>()
        );
        assert_eq!(arch.stem.out_size, 112);
        let sizes: Vec<usize> = arch.blocks.iter().map(|b| b.out_size()).collect();
        assert_eq!(
            sizes,
            [
                112, 56, 56, 28, 28, 28, 14, 14, 14, 14, 14, 14, 14, 7, 7, 7, 7
            ]
        );
        assert_eq!(arch.head.out_size, 7);
        assert_eq!(arch.head.out_channels, 1280);
        // Shortcuts only where stride is 1 and channels match: not the first block of a row.
        let shortcuts: Vec<bool> = arch.blocks.iter().map(|b| b.bottleneck_shortcut).collect();
        let expected: Vec<bool> = TABLE2
            .iter()
            .flat_map(|&[_, _, n, _]| (0..n).map(|i| i > 0))
            .collect();
        assert_eq!(shortcuts, expected);
        assert!(arch.blocks[0].expand.is_none(), "t = 1: no expansion conv");
    }

    /// A network small enough to count by hand: 1x8x8 input, stem 8 channels stride 1, rows
    /// (t=1, c=8, n=1, s=1) and (t=2, c=16, n=n2, s=2), head 32, 3 classes.
    pub(in crate::models::mobilenet_v2) fn small(n2: usize, residual: Residual) -> NetConfig {
        NetConfig {
            resolution: 8,
            stem_channels: 8,
            stem_stride: 1,
            rows: vec![[1, 8, 1, 1], [2, 16, n2, 2]],
            last_channels: 32,
            residual,
            ..NetConfig::default()
        }
    }

    #[test]
    fn params_and_madds_match_a_hand_count() {
        let arch = Arch::new(&small(2, Residual::Bottleneck), 1, 3);
        // stem 3x3 1->8 at 8x8: 72 weights + 16 BN; 8*8*8 outputs x 9 MAdds.
        assert_eq!((arch.stem.params(), arch.stem.madds()), (88, 4608));
        // block1, t=1: depthwise 3x3 on 8 channels (72 + 16), project 8->8 (64 + 16).
        assert_eq!(
            (arch.blocks[0].params(), arch.blocks[0].madds()),
            (168, 4608 + 4096)
        );
        // block2, t=2, stride 2: expand 8->16 at 8x8 (128 + 32; 8192), depthwise 16 to 4x4
        // (144 + 32; 2304), project 16->16 at 4x4 (256 + 32; 4096).
        assert_eq!(
            (arch.blocks[1].params(), arch.blocks[1].madds()),
            (624, 14592)
        );
        // block3, t=2: expand 16->32 (512 + 64; 8192), depthwise 32 (288 + 64; 4608),
        // project 32->16 (512 + 32; 8192).
        assert_eq!(
            (arch.blocks[2].params(), arch.blocks[2].madds()),
            (1472, 20992)
        );
        // head 1x1 16->32 at 4x4 (512 + 64; 8192); classifier 32->3 (96 + 3; 96).
        assert_eq!((arch.head.params(), arch.head.madds()), (576, 8192));
        assert_eq!(arch.params(), 88 + 168 + 624 + 1472 + 576 + 99);
        assert_eq!(arch.madds(), 4608 + 8704 + 14592 + 20992 + 8192 + 96);
    }

    #[test]
    fn residual_rules() {
        let flags = |r| {
            Arch::new(&small(3, r), 1, 3)
                .blocks
                .iter()
                .map(|b| (b.bottleneck_shortcut, b.expansion_shortcut))
                .collect::<Vec<_>>()
        };
        // Between bottlenecks: stride 1 and equal channels (block1 8->8, block3, block4).
        assert_eq!(
            flags(Residual::Bottleneck),
            [(true, false), (false, false), (true, false), (true, false)]
        );
        // Between expansions: only block4, whose predecessor (block3) has stride 1 and the same
        // expansion width; block2 has stride 2 and block1 no expansion layer.
        assert_eq!(
            flags(Residual::Expansion),
            [
                (false, false),
                (false, false),
                (false, false),
                (false, true)
            ]
        );
        assert!(flags(Residual::None).iter().all(|&f| f == (false, false)));
    }
}
