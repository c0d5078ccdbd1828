#!/usr/bin/env python3
"""Load a `runner export` folder with the Python safetensors package (needs `safetensors` and
`numpy`; not run in CI): prints each tensor's name, shape and mean, and the architecture.

    python3 scripts/dev/check_export.py DIR
"""
import json
import sys

from safetensors import safe_open

folder = sys.argv[1]
with safe_open(f"{folder}/model.safetensors", framework="numpy") as f:
    meta = f.metadata()
    arch = json.loads(meta["architecture"])
    print(f"{meta['variant']}, {meta['checkpoint']} (step {meta['step']}): {arch['net']['net']}, "
          f"input {arch['input']}, {arch['classes']} classes")
    for name in sorted(f.keys()):
        t = f.get_tensor(name)
        print(f"{name:40} {str(list(t.shape)):16} mean {t.mean():+.6f}")
