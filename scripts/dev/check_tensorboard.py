#!/usr/bin/env python3
"""Reads runner's TensorBoard event files back with TensorBoard's own reader and checks them
against metrics.csv: every column after `step` is a scalar tag holding, at every step of the
file, the row's value as a 32-bit float, and nothing else.

    python3 -m venv /tmp/tbvenv && /tmp/tbvenv/bin/pip install tensorboard
    /tmp/tbvenv/bin/python scripts/dev/check_tensorboard.py results/bn/20261202-181928 [...]

Each argument is searched for `metrics.csv` files; the event files are in `tb/` beside each.
Not run in CI (it needs the tensorboard package). Exits 1 on any difference.
"""

import csv
import math
import struct
import sys
from pathlib import Path

from tensorboard.backend.event_processing import event_accumulator


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def same(expected, got):
    if math.isnan(expected):
        return math.isnan(got)
    return f32(expected) == got


def check(metrics):
    tb = metrics.parent / "tb"
    problems = []
    files = sorted(p.name for p in tb.glob("*tfevents*")) if tb.is_dir() else []
    if len(files) != 1:
        return [f"{tb}: {len(files)} event files, expected 1: {files}"], 0
    with open(metrics, newline="") as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1:]
    # purge_orphaned_data (the default) is TensorBoard's handling of restarts.
    acc = event_accumulator.EventAccumulator(
        str(tb), size_guidance={event_accumulator.SCALARS: 0}
    )
    acc.Reload()
    tags = acc.Tags()["scalars"]
    if sorted(tags) != sorted(header[1:]):
        problems.append(f"{tb}: tags {sorted(tags)}, expected {sorted(header[1:])}")
    steps = [int(r[0]) for r in rows]
    checked = 0
    for i, column in enumerate(header[1:], start=1):
        if column not in tags:
            continue
        events = acc.Scalars(column)
        got_steps = [e.step for e in events]
        if got_steps != steps:
            problems.append(f"{tb}: {column}: steps {got_steps}, expected {steps}")
            continue
        for row, e in zip(rows, events):
            if not same(float(row[i]), e.value):
                problems.append(
                    f"{tb}: {column} at step {e.step}: {e.value}, expected {row[i]}"
                )
            checked += 1
    return problems, checked


def main(args):
    if not args:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    files = sorted({m for a in args for m in Path(a).rglob("metrics.csv")})
    if not files:
        print(f"no metrics.csv under {' '.join(args)}", file=sys.stderr)
        return 1
    total, bad = 0, 0
    for metrics in files:
        problems, checked = check(metrics)
        total += checked
        for p in problems:
            print(p)
        bad += bool(problems)
        print(f"{'FAIL' if problems else 'ok  '} {metrics.parent}: {checked} values")
    print(f"{len(files) - bad} of {len(files)} event files match their metrics.csv ({total} values)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
