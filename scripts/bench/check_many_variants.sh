#!/usr/bin/env bash
# Time of `runner check` on generated specs with many variants (the loader must stay linear in
# the number of variants: hardening issue, item 9). Each spec is the smoke spec's base with N
# variants that each set a seed and an lr, a `[[expect]]` naming the last variant, and
# `eval.target_variant` on every variant; `--set` edits to the base and to one variant exercise
# the shadowing scan and the variant lookup.
#
# Measured on 2 cores: before the loader was made linear, 20k variants 1.90 s and 40k 9.77 s
# (quadratic: duplicate-name, target_variant and --set variant lookups were scans of all
# variants); after, 10k 0.54 s, 20k 1.10 s, 40k 2.41 s, 80k 4.60 s.
#
# Usage: scripts/bench/check_many_variants.sh [N...]   (default: 10000 20000 40000)
# Environment: RUNNER (default target/release/runner; built with `cargo build --release`).
set -euo pipefail
cd "$(dirname "$0")/../.."
runner=${RUNNER:-target/release/runner}
[[ -x $runner ]] || cargo build --release
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sizes=("$@")
[[ ${#sizes[@]} -gt 0 ]] || sizes=(10000 20000 40000)
printf '| variants | spec size | check (s) |\n|---:|---:|---:|\n'
for n in "${sizes[@]}"; do
    spec=$tmp/many-$n.toml
    {
        printf 'name = "many"\nkind = "bn_ablation"\nseed = 1\n'
        printf '[data]\ntrain_limit = 100\ntest_limit = 100\n'
        printf '[model]\nhidden = [8]\n[train]\nsteps = 10\nbatch_size = 10\n'
        printf '[[expect]]\nclaim = "the last beats the first"\nvariant = "v%d"\n' $((n - 1))
        printf 'metric = "final_test_accuracy"\nabove = "v0"\n'
        awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++)
            printf "[[variant]]\nname = \"v%d\"\nseed = %d\ntrain.lr = 0.%d\neval.target_variant = \"v0\"\n", i, i, i % 9 + 1 }'
    } >"$spec"
    size=$(du -h "$spec" | cut -f1)
    start=$(date +%s.%N)
    "$runner" check "$spec" --set train.lr=0.3 --set "variant.v$((n / 2)).seed=7" >/dev/null 2>&1 \
        || { echo "check failed on $n variants:" >&2; "$runner" check "$spec" >&2; exit 1; }
    end=$(date +%s.%N)
    printf '| %d | %s | %.2f |\n' "$n" "$size" "$(echo "$end - $start" | bc)"
done
