#!/usr/bin/env python3
"""PyTorch reference for runner's `bn_ablation` MLP (experiments/bn.toml), CPU only.

Same network, data, batch and optimizer as runner:
  784-100-100-100-10, sigmoid; Linear weights ~ N(0, 0.1), zero biases;
  with --variant bn each hidden layer is Linear (no bias) -> BatchNorm1d(eps 1e-5,
  momentum 0.1) -> sigmoid; plain SGD lr 0.1 (no momentum); loss = mean per-example
  cross-entropy; batch 60; data = data/mnist-10k/*.gz as they are (train-* / t10k-*),
  pixels / 255 as float32. Batches walk a fresh permutation per epoch, concatenated, like
  runner's BatchOrder (the permutations themselves differ: torch RNG, not runner's Pcg64).

Speed mode (default): trains --warmup steps, then times --steps training steps (evaluation
excluded) and prints one JSON line. Each step does what runner's training step does: gather
the batch, forward, loss, read the loss and the number of correct predictions as host
scalars, backward, SGD update.

--full: trains --total-steps (50,000) steps, evaluating test accuracy every --eval-every
(500) steps on the whole test split (eval mode: BN uses running statistics), and writes a
CSV `step,test_accuracy` to --csv.

PyTorch is a benchmark-only dependency: never add it to CI or tests.
"""

import argparse
import gzip
import json
import os
import platform
import struct
import sys
import time
import warnings

# torch warns at import when numpy is absent; nothing here uses numpy.
warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def read_idx(path):
    """An IDX file (gzip) -> (dims, raw bytes of the unsigned-byte payload)."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    payload = raw[4 + 4 * ndim :]
    count = 1
    for d in dims:
        count *= d
    if len(payload) != count:
        raise ValueError(f"{path}: {len(payload)} bytes of data, header says {count}")
    return dims, payload


def load_split(data_dir, prefix):
    dims, pixels = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))
    (n_labels,), labels = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))
    n = dims[0]
    if n_labels != n:
        raise ValueError(f"{prefix}: {n} images but {n_labels} labels")
    per_image = 1
    for d in dims[1:]:
        per_image *= d
    x = torch.frombuffer(bytearray(pixels), dtype=torch.uint8).reshape(n, per_image)
    x = x.to(torch.float32) / 255.0
    y = torch.frombuffer(bytearray(labels), dtype=torch.uint8).to(torch.int64)
    return x.contiguous(), y


class Mlp(nn.Module):
    def __init__(self, inputs, hidden, classes, batch_norm, init_std):
        super().__init__()
        widths = [inputs] + list(hidden)
        self.hidden = nn.ModuleList(
            nn.Linear(a, b, bias=not batch_norm) for a, b in zip(widths, widths[1:])
        )
        self.norms = nn.ModuleList(
            nn.BatchNorm1d(w, eps=1e-5, momentum=0.1) for w in hidden
        ) if batch_norm else nn.ModuleList()
        self.output = nn.Linear(widths[-1], classes)
        for lin in list(self.hidden) + [self.output]:
            nn.init.normal_(lin.weight, mean=0.0, std=init_std)
            if lin.bias is not None:
                nn.init.zeros_(lin.bias)

    def forward(self, x):
        for i, lin in enumerate(self.hidden):
            z = lin(x)
            if len(self.norms):
                z = self.norms[i](z)
            x = torch.sigmoid(z)
        return self.output(x)


class BatchOrder:
    """A fresh permutation per epoch; batch k = positions k*b .. (k+1)*b of the concatenated
    epochs (batches straddle epoch ends), as in runner."""

    def __init__(self, n, batch, seed):
        self.n, self.batch = n, batch
        self.gen = torch.Generator().manual_seed(seed)
        self.buf = torch.empty(0, dtype=torch.int64)

    def next(self):
        while self.buf.numel() < self.batch:
            self.buf = torch.cat([self.buf, torch.randperm(self.n, generator=self.gen)])
        idx, self.buf = self.buf[: self.batch], self.buf[self.batch :]
        return idx


def build(args, inputs, classes):
    torch.manual_seed(args.seed)
    model = Mlp(inputs, args.hidden, classes, args.variant == "bn", args.init_std)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.0)
    return model, opt


def train_step(model, opt, x_train, y_train, order):
    idx = order.next()
    x = x_train.index_select(0, idx)
    y = y_train.index_select(0, idx)
    logits = model(x)
    loss = F.cross_entropy(logits, y, reduction="none").mean()
    loss_value = loss.item()
    correct = (logits.argmax(1) == y).sum().item()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss_value, correct


@torch.no_grad()
def test_accuracy(model, x_test, y_test, chunk=1000):
    model.eval()
    correct = 0
    for s in range(0, x_test.shape[0], chunk):
        logits = model(x_test[s : s + chunk])
        correct += (logits.argmax(1) == y_test[s : s + chunk]).sum().item()
    model.train()
    return correct / x_test.shape[0]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variant", choices=["baseline", "bn"], default="baseline")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--steps", type=int, default=3000, help="timed steps (speed mode)")
    p.add_argument("--warmup", type=int, default=100, help="untimed steps first (speed mode)")
    p.add_argument("--max-seconds", type=float, default=60.0,
                   help="stop timing early after this long (speed mode; reported as truncated)")
    p.add_argument("--full", action="store_true", help="train --total-steps, eval every --eval-every, write --csv")
    p.add_argument("--total-steps", type=int, default=50000)
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--csv", default=None, help="--full: output CSV (default: bn_torch_<variant>.csv)")
    p.add_argument("--data-dir", default=os.path.join(REPO, "data", "mnist-10k"))
    p.add_argument("--batch", type=int, default=60)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--init-std", type=float, default=0.1)
    p.add_argument("--hidden", type=int, nargs="+", default=[100, 100, 100])
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass

    x_train, y_train = load_split(args.data_dir, "train")
    x_test, y_test = load_split(args.data_dir, "t10k")
    classes = int(max(y_train.max(), y_test.max()).item()) + 1
    model, opt = build(args, x_train.shape[1], classes)
    model.train()
    order = BatchOrder(x_train.shape[0], args.batch, args.seed)

    if not args.full:
        for _ in range(args.warmup):
            train_step(model, opt, x_train, y_train, order)
        t0 = time.perf_counter()
        steps = 0
        while steps < args.steps:
            loss, _ = train_step(model, opt, x_train, y_train, order)
            steps += 1
            # a bound for badly oversubscribed machines (checked every 50 steps)
            if steps % 50 == 0 and time.perf_counter() - t0 > args.max_seconds:
                break
        seconds = time.perf_counter() - t0
        print(json.dumps({
            "impl": "torch",
            "torch": torch.__version__,
            "python": platform.python_version(),
            "variant": args.variant,
            "threads": torch.get_num_threads(),
            "batch": args.batch,
            "warmup": args.warmup,
            "steps": steps,
            "truncated": steps < args.steps,
            "seconds": round(seconds, 4),
            "steps_per_sec": round(steps / seconds, 1),
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
            "final_loss": round(loss, 5),
        }))
        return

    csv_path = args.csv or f"bn_torch_{args.variant}.csv"
    rows = []
    train_seconds = 0.0
    t_start = time.perf_counter()
    for step in range(1, args.total_steps + 1):
        t0 = time.perf_counter()
        loss, _ = train_step(model, opt, x_train, y_train, order)
        train_seconds += time.perf_counter() - t0
        if step % args.eval_every == 0 or step == args.total_steps:
            acc = test_accuracy(model, x_test, y_test)
            rows.append((step, acc))
            print(f"[{args.variant}] step {step}: loss {loss:.4f} test_accuracy {acc:.4f} "
                  f"({time.perf_counter() - t_start:.0f}s)", file=sys.stderr, flush=True)
    with open(csv_path, "w") as f:
        f.write("step,test_accuracy\n")
        for step, acc in rows:
            f.write(f"{step},{acc:.6f}\n")
    print(json.dumps({
        "impl": "torch",
        "mode": "full",
        "torch": torch.__version__,
        "variant": args.variant,
        "threads": torch.get_num_threads(),
        "steps": args.total_steps,
        "train_steps_per_sec": round(args.total_steps / train_seconds, 1),
        "final_test_accuracy": rows[-1][1],
        "csv": csv_path,
    }))


if __name__ == "__main__":
    main()
