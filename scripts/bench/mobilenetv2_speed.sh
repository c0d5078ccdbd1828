#!/usr/bin/env bash
# Training speed of MobileNetV2 on the CPU: runner (burn, flex backend) vs PyTorch, same network,
# batch, optimizer and thread count, in one run. Prints Markdown tables of images/s and the
# ratio runner/torch (absolute times drift on shared machines; judge the ratio), and with -l
# where each spends the time. How to run it: docs/benchmarks.md.
#
# Usage: scripts/bench/mobilenetv2_speed.sh [-s SPEC] [-n STEPS] [-r REPEATS] [-t "THREADS..."] [-p] [-l] [-b RUNNER] [--no-build]
#   -s SPEC      a mobilenet_v2 spec; its first variant is timed (default experiments/mobilenetv2.toml)
#   -n STEPS     timed training steps per run (default 20)
#   -r REPEATS   runner/torch pairs per thread count (default 2)
#   -t THREADS   thread counts, space-separated (default "1 2")
#   -p           also time torch with OMP_WAIT_POLICY=PASSIVE (its spinning OpenMP threads lose
#                badly on a machine that other jobs load)
#   -l           also time every layer kind in isolation on both sides, at the smallest thread
#                count (examples/mobilenet_profile.rs, mobilenetv2_torch.py --layers), and the
#                CPU time of a whole step (steadier than wall time on a loaded machine)
#   -b RUNNER    also time this other runner binary (a build from before a change) right after
#                runner in every round, for a before/after ratio measured under the same load
#   --no-build   skip `cargo build --release --examples`
# Environment: PYTHON (default python3) must have torch installed (`pip install torch`);
#   torch is a benchmark-only dependency, never a CI or test one.
#
# runner: `runner run SPEC` for STEPS steps with one evaluation on 96 test images at the end and
#   no checkpoints; images/s = steps x batch / wall time of the training steps (summary.csv
#   `images_per_sec`: data gathering and augmentation included, evaluation excluded, the
#   first, slower steps included).
# torch: scripts/bench/mobilenetv2_torch.py on the resolved spec, STEPS steps timed after 3
#   warm-up steps, on random images of the same shape (no data gathering or augmentation).
# Runs are interleaved (runner/torch order alternating between repeats) so background load
# hits both sides alike.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

SPEC=experiments/mobilenetv2.toml
STEPS=20
REPEATS=2
THREADS="1 2"
BUILD=1
PASSIVE=0
LAYERS=0
BASELINE=
PYTHON=${PYTHON:-python3}
while [[ $# -gt 0 ]]; do
  case "$1" in
    -s) SPEC=$2; shift 2 ;;
    -n) STEPS=$2; shift 2 ;;
    -r) REPEATS=$2; shift 2 ;;
    -t) THREADS=$2; shift 2 ;;
    -p) PASSIVE=1; shift ;;
    -l) LAYERS=1; shift ;;
    -b) BASELINE=$(realpath "$2"); shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) bench_usage "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

cd "$(dirname "$0")/../.."
RUNNER=target/release/runner
PROFILE=target/release/examples/mobilenet_profile
TORCH_SCRIPT=scripts/bench/mobilenetv2_torch.py
if [[ $BUILD == 1 ]]; then
  cargo build --release --examples --quiet
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
RESOLVED="$WORK/resolved.toml"
"$RUNNER" check "$SPEC" > "$RESOLVED" 2> "$WORK/check.txt"
RESULTS="$WORK/results.tsv"   # threads  impl  images_per_sec  params
: > "$RESULTS"

run_runner() {  # threads [binary label]
  bench_runner "$RESULTS" "${3:-runner}" "$1" "" "${2:-$RUNNER}" "$SPEC" \
    --set "train.steps=$STEPS" --set "eval.every=$STEPS" \
    --set train.checkpoint_every=0 --set data.test_limit=96
}

run_runners() {  # threads
  run_runner "$1"
  if [[ -n $BASELINE ]]; then
    run_runner "$1" "$BASELINE" baseline
  fi
}

run_torch() {  # threads label [ENV=VALUE...]
  local t=$1 label=$2
  shift 2
  env "$@" "$PYTHON" "$TORCH_SCRIPT" "$RESOLVED" --threads "$t" --steps "$STEPS" --warmup 3 \
    2> /dev/null | tail -n 1 > "$WORK/torch.json"
  bench_torch "$RESULTS" "$label" "$WORK/torch.json"
}

run_torches() {  # threads
  run_torch "$1" torch
  if [[ $PASSIVE == 1 ]]; then
    run_torch "$1" torch_passive OMP_WAIT_POLICY=PASSIVE
  fi
}

interleave "$REPEATS" "$THREADS" run_runners run_torches

bench_header "MobileNetV2 training speed: runner vs PyTorch (CPU)" \
  "$SPEC ($(tail -n 1 "$WORK/check.txt"))" "$STEPS" "$REPEATS"
bench_table "$RESULTS"

if [[ $LAYERS == 1 ]]; then
  t=$(echo "$THREADS" | tr ' ' '\n' | sort -n | head -n 1)
  echo >&2 "layer timings at $t threads (load average: $(cut -d' ' -f1 /proc/loadavg))"
  "$PROFILE" "$RESOLVED" --threads "$t" --reps 5 --steps 5 > "$WORK/burn_layers.json"
  "$PYTHON" "$TORCH_SCRIPT" "$RESOLVED" --layers --threads "$t" --reps 5 --steps 5 \
    2> /dev/null | tail -n 1 > "$WORK/torch_layers.json"
  echo
  echo "### Where a training step's time goes ($t threads, ms per step of one batch)"
  echo
  "$PYTHON" - "$WORK/burn_layers.json" "$WORK/torch_layers.json" <<'PY'
import json, sys

b, t = (json.load(open(p)) for p in sys.argv[1:3])
print("| part | runner fwd | torch fwd | runner fwd+bwd | torch fwd+bwd | runner/torch (fwd+bwd time) | runner fwd+weight grad | torch fwd+weight grad |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for name, label in [("fwd", "whole network: forward"), ("fwd_bwd", "whole network: forward + backward"), ("step", "whole step (+ optimizer)"), ("step_cpu", "whole step, CPU time")]:
    rb, rt = b["step_ms"][name], t["step_ms"][name]
    print(f"| {label} | {rb:.1f} | {rt:.1f} | | | {rb / rt:.2f} | | |")
kinds = list(b["ms_per_step"])
tot = {"burn": [0, 0], "torch": [0, 0]}
for k in kinds:
    x, y = b["ms_per_step"][k], t["ms_per_step"].get(k, {"fwd": float("nan"), "fwd_bwd": float("nan")})
    tot["burn"][0] += x["fwd"]; tot["burn"][1] += x["fwd_bwd"]
    tot["torch"][0] += y["fwd"]; tot["torch"][1] += y["fwd_bwd"]
    w = lambda d: f"{d['fwd_wgrad']:.1f}" if "fwd_wgrad" in d else ""
    print(f"| {k} (isolated) | {x['fwd']:.1f} | {y['fwd']:.1f} | {x['fwd_bwd']:.1f} | {y['fwd_bwd']:.1f} | {x['fwd_bwd'] / y['fwd_bwd']:.2f} | {w(x)} | {w(y)} |")
(bf, bb), (tf, tb) = tot["burn"], tot["torch"]
print(f"| sum of isolated layers | {bf:.1f} | {tf:.1f} | {bb:.1f} | {tb:.1f} | {bb / tb:.2f} | | |")
PY
fi
