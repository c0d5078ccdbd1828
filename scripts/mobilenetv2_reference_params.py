#!/usr/bin/env python3
"""MobileNetV2 parameter counts by hand, under the TF-slim reference's rules (no TensorFlow).

Rules (tensorflow/models research/slim/nets/mobilenet): V2_DEF's layers; every layer's
channels = _make_divisible(channels * multiplier, 8) with minimum 8 (mobilenet.py
depth_multiplier); the first block's expansion is its input (expand_input(1, divisible_by=1)),
so it has no expansion conv (conv_blocks.expanded_conv: "if inner_size > net.shape[3]"); other
expansions are _make_divisible(6 * input channels, 8); below width 1 the last conv keeps 1280
channels (finegrain_classification_mode, as the published 0.35 and 0.5 checkpoints); the
logits are a 1x1 conv with bias. Prints the count split into regular and depthwise conv
weights, BN gamma + beta and the classifier, and the totals with and without BN, for 1000 and
1001 classes. docs/results/mobilenetv2.md quotes its output.
"""


def make_divisible(v, divisor=8, min_value=None):
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


ROWS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
        (6, 160, 3, 2), (6, 320, 1, 1)]


def count(mult, classes):
    conv = dw = bn_channels = 0
    stem = make_divisible(32 * mult)
    conv += 3 * 3 * 3 * stem
    bn_channels += stem
    c_in = stem
    for t, c, n, _s in ROWS:
        out = make_divisible(c * mult)
        for _ in range(n):
            inner = c_in if t == 1 else make_divisible(c_in * t)
            if inner > c_in:
                conv += c_in * inner
                bn_channels += inner
            dw += 9 * inner
            bn_channels += inner
            conv += inner * out
            bn_channels += out
            c_in = out
    head = make_divisible((1280 / mult if mult < 1 else 1280) * mult)
    conv += c_in * head
    bn_channels += head
    return conv, dw, bn_channels, head * classes + classes


REFERENCE = {1.4: 6.06, 1.3: 5.34, 1.0: 3.47, 0.75: 2.61, 0.5: 1.95, 0.35: 1.66}

for mult, ref in REFERENCE.items():
    conv, dw, bn, cls1000 = count(mult, 1000)
    cls1001 = count(mult, 1001)[3]
    full = conv + dw + 2 * bn + cls1000
    print(f"width {mult}: conv {conv:,} + depthwise {dw:,} + BN 2 x {bn:,} + classifier "
          f"{cls1000:,} = {full:,}; without BN {full - 2 * bn:,} (1001 logits: "
          f"{conv + dw + cls1001:,}); without gamma only, 1001 logits: "
          f"{conv + dw + bn + cls1001:,}; reference table {ref}M")
