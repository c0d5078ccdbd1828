#!/usr/bin/env bash
# Training speed of the BN paper's MLP (experiments/bn.toml): runner vs PyTorch on the CPU,
# same model, batch (60), data and thread count, in one run. Prints a Markdown table of
# median steps/s and the ratio runner/torch (absolute times drift on shared machines; judge
# the ratio). How to run it: docs/benchmarks.md.
#
# Usage: scripts/bench/bn_speed.sh [-n STEPS] [-r REPEATS] [-t "THREADS..."] [-p] [--no-build]
#   -n STEPS     timed training steps per run (default 3000)
#   -r REPEATS   runner/torch pairs per (threads, variant) (default 3)
#   -t THREADS   thread counts, space-separated (default "1 2")
#   -p           also time torch with OMP_WAIT_POLICY=PASSIVE (extra columns). On a loaded
#                machine torch's spinning OpenMP threads can make it 10-50x slower at 2
#                threads; this column shows how much of a gap is that.
#   --no-build   skip `cargo build --release`
# Environment: PYTHON (default python3) must have torch installed (`pip install torch`);
#   torch is a benchmark-only dependency, never a CI or test one.
#
# Measurement: runs are interleaved (rep -> threads -> runner, torch baseline, torch bn; the
# runner/torch order alternates between reps) so background load hits both sides alike.
# runner: `runner run experiments/bn.toml` with eval only at the end and no checkpoints; its
#   summary.csv steps_per_sec = steps / wall time of the training steps (evaluation and
#   checkpoints excluded; the first steps are included).
# torch: scripts/bench/bn_mlp_torch.py, the same steps timed after 100 warm-up steps (timing
#   stops early after 60 s on a badly oversubscribed machine; such runs are marked with *).
# Note (burn 0.22.1): burn-flex hands a matmul to rayon only from 192^3 multiply-adds; the
#   largest one in a training step here is 60x784x100 (4.7M), so runner's training steps run on
#   one thread whatever --threads says (evaluation, batch 1000, does use both).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

STEPS=3000
REPEATS=3
THREADS="1 2"
BUILD=1
PASSIVE=0
PYTHON=${PYTHON:-python3}
while [[ $# -gt 0 ]]; do
  case "$1" in
    -n) STEPS=$2; shift 2 ;;
    -r) REPEATS=$2; shift 2 ;;
    -t) THREADS=$2; shift 2 ;;
    -p) PASSIVE=1; shift ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) bench_usage "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

cd "$(dirname "$0")/../.."
RUNNER=target/release/runner
TORCH_SCRIPT=scripts/bench/bn_mlp_torch.py

if [[ $BUILD == 1 ]]; then
  cargo build --release --quiet
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
RESULTS="$WORK/results.tsv"   # threads  variant  impl  steps_per_sec[*]
: > "$RESULTS"

run_runner() {  # threads
  local t=$1 dir summary
  dir=$(mktemp -d -p "$WORK")
  "$RUNNER" run experiments/bn.toml \
    --set "train.steps=$STEPS" --set "eval.every=$STEPS" --set train.checkpoint_every=0 \
    --threads "$t" -q --results "$dir" > "$dir/stdout.txt"
  summary=$(find "$dir" -name summary.csv | head -n 1)
  if [[ -z $summary ]]; then
    echo "runner wrote no summary.csv under $dir" >&2
    cat "$dir/stdout.txt" >&2
    exit 1
  fi
  # the header row names the columns; pick variant and steps_per_sec by name
  awk -F, -v t="$t" '
    NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "steps_per_sec") c = i; if ($i == "variant") v = i } next }
    { print t "\t" $v "\trunner\t" $c }' "$summary" >> "$RESULTS"
}

run_torch() {  # threads variant [label [ENV=VALUE...]]
  local t=$1 v=$2 label=${3:-torch}
  shift 2
  [[ $# -gt 0 ]] && shift
  env "$@" "$PYTHON" "$TORCH_SCRIPT" --variant "$v" --threads "$t" --steps "$STEPS" \
    > "$WORK/torch.json"
  "$PYTHON" -c '
import json, sys
d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
star = "*" if d["truncated"] else ""
print(d["threads"], d["variant"], sys.argv[2], str(d["steps_per_sec"]) + star, sep="\t")
' "$WORK/torch.json" "$label" >> "$RESULTS"
}

run_torches() {  # threads
  run_torch "$1" baseline
  run_torch "$1" bn
  if [[ $PASSIVE == 1 ]]; then
    run_torch "$1" baseline torch_passive OMP_WAIT_POLICY=PASSIVE
    run_torch "$1" bn torch_passive OMP_WAIT_POLICY=PASSIVE
  fi
}

interleave "$REPEATS" "$THREADS" run_runner run_torches

echo
echo "## BN MLP training speed: runner vs PyTorch (CPU)"
echo
echo "- runner: $("$RUNNER" --version)"
echo "- torch: $("$PYTHON" -c 'import warnings; warnings.filterwarnings("ignore"); import torch; print(torch.__version__)') (python $("$PYTHON" -c 'import platform; print(platform.python_version())'))"
echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores available; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- model 784-100-100-100-10 sigmoid, batch 60, SGD lr 0.1; $STEPS timed steps per run, median of $REPEATS runs"
echo

"$PYTHON" - "$RESULTS" <<'EOF'
import statistics, sys

rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
runs, truncated = {}, False
for t, v, impl, sps in rows:
    truncated |= sps.endswith("*")
    runs.setdefault((int(t), v), {}).setdefault(impl, []).append(sps)


def med(xs):
    return statistics.median(float(x.rstrip("*")) for x in xs) if xs else float("nan")


def fmt(xs):
    return " / ".join(f"{float(x.rstrip('*')):.0f}" + ("\\*" if x.endswith("*") else "") for x in xs)


passive = any("torch_passive" in d for d in runs.values())
head = ["threads", "variant", "runner steps/s (median)", "torch steps/s (median)", "ratio runner/torch"]
if passive:
    head += ["torch PASSIVE steps/s (median)", "ratio runner/torch PASSIVE"]
head += ["runner runs", "torch runs"] + (["torch PASSIVE runs"] if passive else [])
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for t, v in sorted(runs, key=lambda k: (k[0], k[1] != "baseline", k[1])):
    d = runs[(t, v)]
    r, p, q = d.get("runner", []), d.get("torch", []), d.get("torch_passive", [])
    cells = [str(t), v, f"{med(r):.0f}", f"{med(p):.0f}", f"{med(r) / med(p):.2f}"]
    if passive:
        cells += [f"{med(q):.0f}", f"{med(r) / med(q):.2f}"]
    cells += [fmt(r), fmt(p)] + ([fmt(q)] if passive else [])
    print("| " + " | ".join(cells) + " |")
if truncated:
    print("\n\\* timing stopped early (60 s cap): the machine was badly oversubscribed")
EOF
