# Shared by scripts/reproduce-<paper>.sh (sourced, not run): builds runner, then sweeps each spec
# over seeds and writes one report with the paper's claims checked. The caller sets
# `set -euo pipefail`, changes to the repository root and sets SEEDS, JOBS and OUT; THREADS,
# when set, is each cell's thread count (default: the cores shared among the JOBS cells).
cargo build --release --quiet
runner=target/release/runner
datasets=$("$runner" data list)

# with_fashion SPEC: true when Fashion-MNIST is installed; otherwise says SPEC is skipped.
with_fashion() {
    if grep -q '^fashion-mnist .*/' <<<"$datasets"; then
        return 0
    fi
    echo "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist, or" \
        "runner data fetch fashion-mnist): skipping $1" >&2
    return 1
}

# reproduce SPEC[:N]...: sweeps each spec over SEEDS seeds (N where given) into
# $OUT/<spec name>/, JOBS cells at a time, writes $OUT/report/ and prints the claim table.
# Its exit status is `report --check`'s: 0 when every claim holds, 3 when one FAILs.
reproduce() {
    local dirs=() claims=() item spec seeds dir start
    for item in "$@"; do
        spec=${item%%:*}
        seeds=$SEEDS
        [[ $item == *:* ]] && seeds=${item##*:}
        dir="$OUT/$(basename "$spec" .toml)"
        echo "== $spec: $seeds seed(s) into $dir" >&2
        start=$(date +%s)
        "$runner" sweep "$spec" --seeds "$seeds" --jobs "$JOBS" ${THREADS:+--threads "$THREADS"} \
            --dir "$dir" >/dev/null
        echo "== $spec: $(( ($(date +%s) - start) / 60 )) min" >&2
        dirs+=("$dir")
        claims+=(--claims "$spec")
    done
    "$runner" report "${dirs[@]}" "${claims[@]}" --out "$OUT/report" >/dev/null
    echo "report: $OUT/report/report.md" >&2
    "$runner" report "${dirs[@]}" "${claims[@]}" --check
}
