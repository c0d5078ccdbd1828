#!/usr/bin/env python3
"""PyTorch reference for runner's `mobilenet_v2` kind, CPU only.

Reads a *resolved* spec (the output of `runner check SPEC`, so every default is spelled out)
and builds the same network as src/models/mobilenet_v2/: the [mobilenet] rows (t, c, n, s),
width multiplier with channels rounded by `_make_divisible`, stem stride, head of
max(1, width) * 1280 channels, linear or ReLU6 bottlenecks, residuals between bottlenecks /
expansions / none, dropout, Kaiming-normal fan-out convs without bias, BatchNorm (eps 1e-5,
momentum 0.1), classifier N(0, 0.01) with zero bias. Optimizer: the spec's RMSProp
(alpha = train.rms_decay, momentum, eps, weight decay added to the gradient) or SGD.

Modes
  (default)  speed: --warmup steps, then --steps timed training steps on random images of the
             spec's shape and batch; prints one JSON line with images/s. Each step does what
             runner's step does: forward, mean cross-entropy, read the loss and the number of
             correct predictions as host scalars, backward, optimizer step.
  --count    parameters and multiply-adds (conv and linear layers, via forward hooks); a check
             of runner's analytic counts.
  --layers   medians of --steps whole training-mode forwards, forward + backward passes and
             steps (and the mean CPU time of a step, steadier on a loaded machine), then each conv, BatchNorm and ReLU6 timed in isolation at the network's
             shapes (forward, and forward + backward from a gradient of ones; for convs also
             forward + the weight gradient alone), summed by layer kind: where the time goes. Same method as
             `cargo run --release --example mobilenet_profile`.

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


def make_divisible(v, divisor):
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class ConvBN(nn.Module):
    def __init__(self, cin, cout, k, stride, groups, relu6):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1)
        self.relu6 = relu6
        self.k, self.stride, self.groups = k, stride, groups

    def forward(self, x):
        x = self.bn(self.conv(x))
        return F.relu6(x) if self.relu6 else x


class Block(nn.Module):
    def __init__(self, cin, cout, t, stride, relu6_project, bottleneck_shortcut, expansion_shortcut):
        super().__init__()
        hidden = int(round(cin * t))
        self.expand = ConvBN(cin, hidden, 1, 1, 1, True) if t != 1 else None
        self.depthwise = ConvBN(hidden, hidden, 3, stride, hidden, True)
        self.project = ConvBN(hidden, cout, 1, 1, 1, relu6_project)
        self.bottleneck_shortcut = bottleneck_shortcut
        self.expansion_shortcut = expansion_shortcut
        self.hidden, self.stride, self.cin = hidden, stride, cin

    def forward(self, x, previous):
        h = self.expand(x) if self.expand is not None else x
        if self.expansion_shortcut:
            h = h + previous
        expanded = h if self.expand is not None else None
        y = self.project(self.depthwise(h))
        if self.bottleneck_shortcut:
            y = y + x
        return y, expanded


class MobileNetV2(nn.Module):
    def __init__(self, m, in_channels, classes):
        super().__init__()
        w = m["width_multiplier"]
        rnd = lambda c: make_divisible(c * w, m["round_to"])  # noqa: E731
        cin = rnd(m["stem_channels"])
        self.stem = ConvBN(in_channels, cin, 3, m["stem_stride"], 1, True)
        blocks = []
        relu6_project = m["bottleneck_activation"] == "relu6"
        size = (m["resolution"] - 1) // m["stem_stride"] + 1
        prev = None  # (hidden, stride, has_expand, in_size) of the previous block
        for t, c, n, s in m["rows"]:
            cout = rnd(c)
            for i in range(n):
                stride = s if i == 0 else 1
                hidden = int(round(cin * t))
                bottleneck = m["residual"] == "bottleneck" and stride == 1 and cin == cout
                expansion = (
                    m["residual"] == "expansion"
                    and t != 1
                    and prev is not None
                    and prev[2]
                    and prev[1] == 1
                    and prev[0] == hidden
                    and prev[3] == size
                )
                blocks.append(Block(cin, cout, t, stride, relu6_project, bottleneck, expansion))
                prev = (hidden, stride, t != 1, size)
                cin = cout
                size = (size - 1) // stride + 1
        self.blocks = nn.ModuleList(blocks)
        last = make_divisible(m["last_channels"] * max(1.0, w), m["round_to"])
        self.head = ConvBN(cin, last, 1, 1, 1, True)
        self.dropout = nn.Dropout(m["dropout"])
        self.classifier = nn.Linear(last, classes)
        for mod in self.modules():
            if isinstance(mod, nn.Conv2d):
                nn.init.kaiming_normal_(mod.weight, mode="fan_out")
            elif isinstance(mod, nn.BatchNorm2d):
                nn.init.ones_(mod.weight)
                nn.init.zeros_(mod.bias)
            elif isinstance(mod, nn.Linear):
                nn.init.normal_(mod.weight, 0, 0.01)
                nn.init.zeros_(mod.bias)

    def forward(self, x):
        x = self.stem(x)
        expanded = None
        for b in self.blocks:
            x, expanded = b(x, expanded)
        x = self.head(x)
        x = x.mean((2, 3))
        return self.classifier(self.dropout(x))


DATASETS = {  # name -> (channels, classes, native side)
    "mnist-10k": (1, 10, 28),
    "mnist": (1, 10, 28),
    "fashion-mnist": (1, 10, 28),
    "cifar10": (3, 10, 32),
}


def load_variant(path, name):
    spec = tomllib.loads(open(path).read())
    variants = spec.get("variant", [])
    if not variants:
        sys.exit(f"{path}: no [[variant]]; pass the output of `runner check SPEC`")
    v = variants[0] if name is None else next((v for v in variants if v["name"] == name), None)
    if v is None:
        sys.exit(f"{path}: no variant {name}")
    if "mobilenet" not in v:
        sys.exit(f"{path}: variant {v['name']} has no [mobilenet] (pass `runner check` output)")
    return v


def build(v):
    m = v["mobilenet"]
    ch, classes, _ = DATASETS[v["data"]["dataset"]]
    in_channels = m["in_channels"] or ch
    classes = m["classes"] or classes
    return MobileNetV2(m, in_channels, classes), in_channels, classes, m["resolution"]


def optimizer(v, model):
    t = v["train"]
    if t["optimizer"] == "rmsprop":
        return torch.optim.RMSprop(
            model.parameters(),
            lr=t["lr"],
            alpha=t["rms_decay"],
            eps=t["epsilon"],
            momentum=t["momentum"],
            weight_decay=t["weight_decay"],
        )
    if t["optimizer"] == "sgd":
        return torch.optim.SGD(
            model.parameters(), lr=t["lr"], momentum=t["momentum"], weight_decay=t["weight_decay"]
        )
    return torch.optim.Adam(model.parameters(), lr=t["lr"], weight_decay=t["weight_decay"])


def count(model, in_channels, res):
    madds = 0

    def hook(mod, inp, out):
        nonlocal madds
        if isinstance(mod, nn.Conv2d):
            k = mod.kernel_size[0] * mod.kernel_size[1]
            madds += out.numel() * (mod.in_channels // mod.groups) * k
        elif isinstance(mod, nn.Linear):
            madds += mod.in_features * mod.out_features * out.shape[0]

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, in_channels, res, res))
    for h in hs:
        h.remove()
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return params, madds


def speed(v, args):
    torch.manual_seed(0)
    model, cin, classes, res = build(v)
    opt = optimizer(v, model)
    b = v["train"]["batch_size"]
    gen = torch.Generator().manual_seed(1)
    xs = [torch.rand(b, cin, res, res, generator=gen) for _ in range(4)]
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

    done, secs = timed_steps(step, args.warmup, args.steps, args.max_seconds)
    return {
        "impl": "torch",
        "variant": v["name"],
        "threads": torch.get_num_threads(),
        "batch": b,
        "steps": done,
        "truncated": done < args.steps,
        "seconds": round(secs, 3),
        "images_per_sec": round(done * b / secs, 1),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def timed(fn, reps, min_reps=3):
    fn()  # warm-up
    times = []
    for _ in range(max(reps, min_reps)):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def layer_kinds(model):
    """(kind, module) for every ConvBN of the network."""
    out = [("stem", model.stem)]
    for b in model.blocks:
        if b.expand is not None:
            out.append(("expand 1x1", b.expand))
        out.append(("depthwise 3x3", b.depthwise))
        out.append(("project 1x1", b.project))
    out.append(("head 1x1", model.head))
    return out


def layers(v, args):
    """Median time of each conv, BN and ReLU6 in isolation at the network's shapes, summed by
    kind, forward and forward + backward, in ms per training step."""
    torch.manual_seed(0)
    model, cin, classes, res = build(v)
    b = v["train"]["batch_size"]
    model.train()
    # Record each ConvBN's input shape with one forward pass.
    shapes = {}
    hooks = [
        m.register_forward_hook(lambda mod, inp, out: shapes.__setitem__(id(mod), tuple(inp[0].shape)))
        for _, m in layer_kinds(model)
    ]
    with torch.no_grad():
        model(torch.rand(b, cin, res, res))
    for h in hooks:
        h.remove()
    totals = {}

    def add(kind, part, secs):
        d = totals.setdefault(kind, {"fwd": 0.0, "fwd_bwd": 0.0})
        d.setdefault(part, 0.0)
        d[part] += secs * 1e3

    for kind, mod in layer_kinds(model):
        x = torch.rand(shapes[id(mod)], requires_grad=True)
        conv, bn = mod.conv, mod.bn
        with torch.no_grad():
            y = conv(x)
        gy = torch.ones_like(y)  # as burn's backward() seeds the gradient

        def conv_fwd():
            with torch.no_grad():
                conv(x)

        def conv_both():
            out = conv(x)
            out.backward(gy)

        x_const = x.detach()

        def conv_wgrad():
            conv(x_const).backward(gy)

        add(kind, "fwd", timed(conv_fwd, args.reps))
        add(kind, "fwd_bwd", timed(conv_both, args.reps))
        add(kind, "fwd_wgrad", timed(conv_wgrad, args.reps))
        z = y.detach().clone().requires_grad_(True)

        def bn_fwd():
            with torch.no_grad():
                bn(z)

        def bn_both():
            bn(z).backward(gy)

        add("batchnorm", "fwd", timed(bn_fwd, args.reps))
        add("batchnorm", "fwd_bwd", timed(bn_both, args.reps))
        if mod.relu6:

            def act_fwd():
                with torch.no_grad():
                    F.relu6(z)

            def act_both():
                F.relu6(z).backward(gy)

            add("relu6", "fwd", timed(act_fwd, args.reps))
            add("relu6", "fwd_bwd", timed(act_both, args.reps))
    # Whole steps: training-mode forward, forward + backward, forward + backward + update.
    opt = optimizer(v, model)
    x = torch.rand(b, cin, res, res)
    y = torch.arange(b) % classes

    def fwd():
        with torch.no_grad():
            F.cross_entropy(model(x), y).item()

    def fwd_bwd():
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()

    def step():
        loss = F.cross_entropy(model(x), y)
        loss.item()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step_ms = {
        "fwd": timed(fwd, args.steps) * 1e3,
        "fwd_bwd": timed(fwd_bwd, args.steps) * 1e3,
        "step": timed(step, args.steps) * 1e3,
    }
    step()
    cpu0 = time.process_time()
    for _ in range(max(args.steps, 1)):
        step()
    step_ms["step_cpu"] = (time.process_time() - cpu0) * 1e3 / max(args.steps, 1)
    return {
        "impl": "torch",
        "variant": v["name"],
        "threads": torch.get_num_threads(),
        "batch": b,
        "step_ms": step_ms,
        "ms_per_step": totals,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("spec", help="a resolved spec (`runner check SPEC > resolved.toml`)")
    p.add_argument("--variant", help="variant name (default: the first)")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--max-seconds", type=float, default=120.0)
    p.add_argument("--reps", type=int, default=5, help="repetitions per layer timing (--layers)")
    p.add_argument("--count", action="store_true")
    p.add_argument("--layers", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    v = load_variant(args.spec, args.variant)
    if args.count:
        model, cin, _, res = build(v)
        params, madds = count(model, cin, res)
        print(json.dumps({"variant": v["name"], "params": params, "madds": madds}))
    elif args.layers:
        print(json.dumps(layers(v, args)))
    else:
        print(json.dumps(speed(v, args)))


if __name__ == "__main__":
    main()
