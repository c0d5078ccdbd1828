#!/usr/bin/env bash
# Runs every smoke spec with BINARY and gathers their CSVs under OUTDIR/collected, so two builds
# can be compared for a refactor that must not change results:
#   scripts/dev/smoke_outputs.sh /tmp/runner-old /tmp/old
#   scripts/dev/smoke_outputs.sh target/release/runner /tmp/new
#   python3 scripts/dev/compare_outputs.py /tmp/old/collected /tmp/new/collected
set -euo pipefail
bin=$(realpath "$1"); out=$2
cd "$(dirname "$0")/../.."
rm -rf "$out"; mkdir -p "$out/results"
for s in experiments/smoke/*.toml; do
  "$bin" run "$s" --results "$out/results" --threads 2 --quiet > "$out/$(basename "$s" .toml).log" 2>&1 \
    || echo "FAIL $s (see $out/$(basename "$s" .toml).log)"
done
cd "$out/results"
find . -name '*.csv' | sort | while read -r f; do
  g=$(echo "$f" | sed -E 's#^\./([^/]+)/[0-9-]+/#\1/#')   # drop the timestamped run dir
  mkdir -p "../collected/$(dirname "$g")"
  cp "$f" "../collected/$g"
done
