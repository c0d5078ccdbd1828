#!/usr/bin/env python3
"""PyTorch replicas of runner's small convolutional nets, CPU only, for training-speed checks.

Reads a *resolved* spec (the output of `runner check SPEC`, so every default is spelled out),
takes one variant (--variant, default the first) and builds the same network as runner:

  kind random_labels, model.arch = "inception_small" (src/models/inception_small.rs):
      Zhang et al. 2017's small Inception: a 3x3 conv module, then the body of Figure 3
      (Inception(ch1, ch3): a 1x1 and a 3x3 conv module side by side, concatenated;
      Downsample(ch3): a 3x3 stride-2 conv module beside a 3x3 stride-2 max-pool with padding
      1), global mean pooling, a linear classifier. A conv module is convolution (bias, "same"
      padding, He-normal weights, zero bias) -> BatchNorm (eps 1e-5, momentum 0.1; only with
      model.batch_norm) -> ReLU. Every filter count times model.width, rounded, at least 1.
  kind random_labels, model.arch = "alexnet_small" (src/models/alexnet_small.rs):
      two (conv 5x5 padding 2 -> ReLU -> max-pool 3x3 stride 2 padding 1 -> LRN) modules of
      64 x width channels, FC 384 x width, FC 192 x width (ReLU), a linear classifier. The LRN
      is TensorFlow's CIFAR-10 one (depth radius 4, bias 1, alpha 0.001/9 on the sum of
      squares, beta 0.75), i.e. torch's LocalResponseNorm(9, alpha=0.001, beta=0.75, k=1).
  kind rcnn (src/models/rcnn_net.rs), its pre-training on whole digits:
      three (conv -> ReLU -> max-pool 3x3 stride 2 padding 1) stages (5x5, 3x3, 3x3 with
      "same" padding, rcnn.conv_channels), fc6 and fc7 of rcnn.fc_units with ReLU, dropout
      rcnn.dropout after each, a classifier; single-channel rcnn.warp_size inputs.

The inputs have the dataset's shape (mnist-10k: 1x28x28, 10 classes; the rcnn kind resizes to
the warp size). Optimizer: the spec's SGD (momentum without dampening, Nesterov if set, weight
decay added to the gradient, as runner's src/train/optimizer.rs), Adam or RMSProp, at the
spec's learning rate (the step schedule's first rate: the timed runs are shorter than a step).

Modes
  (default)  speed: --warmup steps, then --steps timed training steps on random images of the
             spec's shape and batch; prints one JSON line with images/s and the parameter
             count. Each step does what runner's does: forward, mean cross-entropy, read the
             loss and the number of correct predictions as host scalars, backward, optimizer
             step.
  --count    the trainable parameter count only (one JSON line), to check against runner's
             (summary.csv `params`).
  --profile  torch.profiler's per-operator table (self CPU time) of --steps training steps
             after the warm-up, printed as text.

PyTorch is a benchmark-only dependency: never add it to CI or tests.
"""

import argparse
import json
import math
import os
import platform
import sys
import time
import tomllib
import warnings

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch_timing import timed_steps

# src/models/inception_small.rs: the stem's channels and the body of Figure 3.
INCEPTION_STEM = 96
INCEPTION_BODY = [
    ("inception", 32, 32),
    ("inception", 32, 48),
    ("downsample", 80),
    ("inception", 112, 48),
    ("inception", 96, 64),
    ("inception", 80, 80),
    ("inception", 48, 96),
    ("downsample", 96),
    ("inception", 176, 160),
    ("inception", 176, 160),
]
# src/models/alexnet_small.rs
ALEXNET_CONV = 64
ALEXNET_FC = (384, 192)

DATASETS = {  # name -> (channels, classes, side)
    "mnist-10k": (1, 10, 28),
    "mnist": (1, 10, 28),
    "fashion-mnist": (1, 10, 28),
    "cifar10": (3, 10, 32),
}


def scaled(units, width):
    """Rust's `((units as f64 * width).round() as usize).max(1)` (halves away from zero)."""
    return max(1, int(math.floor(units * width + 0.5)))


def pool3s2():
    return nn.MaxPool2d(3, stride=2, padding=1)


class ConvModule(nn.Module):
    def __init__(self, cin, cout, k, stride, bn):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, bias=True)
        nn.init.kaiming_normal_(self.conv.weight, mode="fan_in", nonlinearity="relu")
        nn.init.zeros_(self.conv.bias)
        self.bn = nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1) if bn else None

    def forward(self, x):
        z = self.conv(x)
        if self.bn is not None:
            z = self.bn(z)
        return F.relu(z)


class InceptionBlock(nn.Module):
    def __init__(self, cin, ch1, ch3, bn):
        super().__init__()
        self.a = ConvModule(cin, ch1, 1, 1, bn)
        self.b = ConvModule(cin, ch3, 3, 1, bn)

    def forward(self, x):
        return torch.cat([self.a(x), self.b(x)], 1)


class DownsampleBlock(nn.Module):
    def __init__(self, cin, ch3, bn):
        super().__init__()
        self.a = ConvModule(cin, ch3, 3, 2, bn)
        self.pool = pool3s2()

    def forward(self, x):
        return torch.cat([self.a(x), self.pool(x)], 1)


class InceptionSmall(nn.Module):
    def __init__(self, channels, classes, width, bn):
        super().__init__()
        c = scaled(INCEPTION_STEM, width)
        self.stem = ConvModule(channels, c, 3, 1, bn)
        body = []
        for stage in INCEPTION_BODY:
            if stage[0] == "inception":
                ch1, ch3 = scaled(stage[1], width), scaled(stage[2], width)
                body.append(InceptionBlock(c, ch1, ch3, bn))
                c = ch1 + ch3
            else:
                ch3 = scaled(stage[1], width)
                body.append(DownsampleBlock(c, ch3, bn))
                c += ch3
        self.body = nn.Sequential(*body)
        self.output = nn.Linear(c, classes)

    def forward(self, x):
        x = self.body(self.stem(x))
        return self.output(x.mean((2, 3)))


class AlexNetSmall(nn.Module):
    def __init__(self, channels, side, classes, width):
        super().__init__()
        c = scaled(ALEXNET_CONV, width)
        f1, f2 = (scaled(u, width) for u in ALEXNET_FC)
        pooled = lambda s: (s + 2 - 3) // 2 + 1  # noqa: E731
        spatial = pooled(pooled(side)) ** 2
        # torch's defaults are burn's: weights and biases uniform in +-1/sqrt(fan_in).
        self.conv1 = nn.Conv2d(channels, c, 5, padding=2)
        self.conv2 = nn.Conv2d(c, c, 5, padding=2)
        self.pool = pool3s2()
        self.lrn = nn.LocalResponseNorm(9, alpha=0.001, beta=0.75, k=1.0)
        self.fc1 = nn.Linear(c * spatial, f1)
        self.fc2 = nn.Linear(f1, f2)
        self.output = nn.Linear(f2, classes)

    def forward(self, x):
        x = self.lrn(self.pool(F.relu(self.conv1(x))))
        x = self.lrn(self.pool(F.relu(self.conv2(x))))
        x = x.flatten(1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.output(x)


class RcnnNet(nn.Module):
    def __init__(self, side, conv_channels, fc_units, dropout, classes):
        super().__init__()
        c1, c2, c3 = conv_channels
        self.conv1 = nn.Conv2d(1, c1, 5, padding=2)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.conv3 = nn.Conv2d(c2, c3, 3, padding=1)
        self.pool = pool3s2()
        pooled = lambda s: (s + 2 - 3) // 2 + 1  # noqa: E731
        p5 = pooled(pooled(pooled(side)))
        self.fc6 = nn.Linear(c3 * p5 * p5, fc_units)
        self.fc7 = nn.Linear(fc_units, fc_units)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(fc_units, classes)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = self.pool(F.relu(self.conv3(x)))
        fc6 = F.relu(self.fc6(x.flatten(1)))
        fc7 = F.relu(self.fc7(self.dropout(fc6)))
        return self.classifier(self.dropout(fc7))


def load(path, name):
    spec = tomllib.loads(open(path).read())
    variants = spec.get("variant", [])
    if not variants:
        sys.exit(f"{path}: no [[variant]]; pass the output of `runner check SPEC`")
    v = variants[0] if name is None else next((v for v in variants if v["name"] == name), None)
    if v is None:
        sys.exit(f"{path}: no variant {name}; it has {', '.join(x['name'] for x in variants)}")
    return spec.get("kind") or v.get("kind"), v


def build(kind, v):
    """(model, input shape [c, h, w], classes, batch) of a resolved variant."""
    data = v["data"]["dataset"]
    if data not in DATASETS:
        sys.exit(f"dataset {data}: not one this script knows ({', '.join(DATASETS)})")
    channels, classes, side = DATASETS[data]
    batch = v["train"]["batch_size"]
    if kind == "rcnn":
        r = v["rcnn"]
        if r.get("pretrain_dataset"):
            data = r["pretrain_dataset"]
            channels, classes, _ = DATASETS[data]
        s = r["warp_size"]
        model = RcnnNet(s, r["conv_channels"], r["fc_units"], r["dropout"], classes)
        return model, (1, s, s), classes, batch
    if kind != "random_labels":
        sys.exit(f"kind {kind}: this script builds random_labels and rcnn nets")
    m = v["model"]
    if m["arch"] == "inception_small":
        model = InceptionSmall(channels, classes, m["width"], m["batch_norm"])
    elif m["arch"] == "alexnet_small":
        model = AlexNetSmall(channels, side, classes, m["width"])
    else:
        sys.exit(f"model.arch {m['arch']}: this script builds inception_small and alexnet_small")
    return model, (channels, side, side), classes, batch


def optimizer(v, model):
    t = v["train"]
    if t["optimizer"] == "sgd":
        return torch.optim.SGD(
            model.parameters(),
            lr=t["lr"],
            momentum=t["momentum"],
            dampening=0.0,
            nesterov=bool(t.get("nesterov", False)),
            weight_decay=t["weight_decay"],
        )
    if t["optimizer"] == "rmsprop":
        return torch.optim.RMSprop(
            model.parameters(),
            lr=t["lr"],
            alpha=t["rms_decay"],
            eps=t["epsilon"],
            momentum=t["momentum"],
            weight_decay=t["weight_decay"],
        )
    return torch.optim.Adam(
        model.parameters(),
        lr=t["lr"],
        betas=(t["beta1"], t["beta2"]),
        eps=t["epsilon"],
        weight_decay=t["weight_decay"],
    )


def params(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def setup(kind, v):
    torch.manual_seed(0)
    model, shape, classes, b = build(kind, v)
    opt = optimizer(v, model)
    gen = torch.Generator().manual_seed(1)
    xs = [torch.rand(b, *shape, generator=gen) for _ in range(4)]
    ys = [torch.randint(0, classes, (b,), generator=gen) for _ in range(4)]
    model.train()

    def step(i):
        x, y = xs[i % 4], ys[i % 4]
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        loss.item()
        (logits.argmax(1) == y).sum().item()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return model, b, step


def speed(kind, v, args):
    model, b, step = setup(kind, v)
    done, secs = timed_steps(step, args.warmup, args.steps, args.max_seconds)
    return {
        "impl": "torch",
        "variant": v["name"],
        "threads": torch.get_num_threads(),
        "batch": b,
        "params": params(model),
        "steps": done,
        "truncated": done < args.steps,
        "seconds": round(secs, 3),
        "images_per_sec": round(done * b / secs, 1),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def profile(kind, v, args):
    from torch.profiler import ProfilerActivity, profile as prof

    _, b, step = setup(kind, v)
    for i in range(args.warmup):
        step(i)
    with prof(activities=[ProfilerActivity.CPU]) as p:
        for i in range(args.steps):
            step(i)
    print(
        f"torch.profiler, {v['name']}, batch {b}, {torch.get_num_threads()} threads, "
        f"{args.steps} steps (times are totals over the steps)"
    )
    print(p.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("spec", help="a resolved spec (`runner check SPEC > resolved.toml`)")
    p.add_argument("--variant", help="variant name (default: the first)")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--max-seconds", type=float, default=120.0)
    p.add_argument("--count", action="store_true")
    p.add_argument("--profile", action="store_true")
    p.add_argument("--rows", type=int, default=15, help="operators in the --profile table")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    kind, v = load(args.spec, args.variant)
    if args.count:
        model, _, _, _ = build(kind, v)
        print(json.dumps({"variant": v["name"], "params": params(model)}))
    elif args.profile:
        profile(kind, v, args)
    else:
        print(json.dumps(speed(kind, v, args)))


if __name__ == "__main__":
    main()
