#!/usr/bin/env bash
# Training speed of the small convolutional nets on the CPU: runner (burn, flex backend) vs a
# PyTorch replica of the same network, batch and optimizer at the same thread count, in one
# run. Prints one Markdown table of images/s and the ratio runner/torch per model (absolute
# times drift on shared machines; judge the ratio). How to run it: docs/benchmarks.md.
#
# Usage: scripts/bench/conv_speed.sh [-m MODEL] [-n STEPS] [-r REPEATS] [-t "THREADS..."] [-b RUNNER] [-p] [-P] [--no-build]
#   -m MODEL     inception | inception-nobn | alexnet | rcnn | all (default all):
#                  inception, inception-nobn, alexnet: those variants of
#                    experiments/random_labels_table1.toml (small Inception at width 0.125 with
#                    and without BN, small AlexNet at width 0.25; mnist-10k, batch 128, SGD)
#                  rcnn: the R-CNN CNN's pre-training on whole digits in experiments/rcnn.toml
#                    (32x32 warps, batch 64, SGD with weight decay; no fine-tuning, and the
#                    detection stages after it on 2 canvases of each set without box
#                    regression, untimed)
#   -n STEPS     timed training steps per run (default 10)
#   -r REPEATS   runner/torch pairs per thread count (default 2)
#   -t THREADS   thread counts, space-separated (default "1 2")
#   -b RUNNER    also time this other runner binary (a build from before a change) right after
#                runner in every round, for a before/after ratio measured under the same load
#   -p           also time torch with OMP_WAIT_POLICY=PASSIVE (its spinning OpenMP threads lose
#                badly on a machine that other jobs load)
#   -P           also print torch.profiler's per-operator table (self CPU time) of each
#                model's STEPS training steps at the smallest thread count
#   --no-build   skip `cargo build --release`
# Environment: PYTHON (default python3) must have torch installed (`pip install torch`);
#   torch is a benchmark-only dependency, never a CI or test one.
#
# Each model's variant is cut out of `runner check SPEC` (the resolved spec, every default
# spelled out) into a one-variant spec, so runner trains exactly that variant and the torch
# replica reads the same settings. The parameter counts of both sides are printed and must be
# equal (runner's summary.csv `params` against scripts/bench/conv_torch.py's); the script
# fails if they differ.
# runner: `runner run` of that spec for STEPS steps, one evaluation at the end (96 test images;
#   random_labels also evaluates its 500 training images) and no checkpoints; images/s = steps x
#   batch / train_seconds of summary.csv (the training steps' wall time: data gathering, crops
#   and the first, slower steps included, evaluation excluded).
# torch: scripts/bench/conv_torch.py on the resolved one-variant spec, STEPS steps timed after
#   3 warm-up steps, on random images of the same shape (no data gathering).
# Runs are interleaved (runner/torch order alternating between repeats) so background load
# hits both sides alike.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

MODELS=all
STEPS=10
REPEATS=2
THREADS="1 2"
BUILD=1
PROFILE=0
PASSIVE=0
BASELINE=
PYTHON=${PYTHON:-python3}
while [[ $# -gt 0 ]]; do
  case "$1" in
    -m) MODELS=$2; shift 2 ;;
    -n) STEPS=$2; shift 2 ;;
    -r) REPEATS=$2; shift 2 ;;
    -t) THREADS=$2; shift 2 ;;
    -b) BASELINE=$(realpath "$2"); shift 2 ;;
    -p) PASSIVE=1; shift ;;
    -P) PROFILE=1; shift ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) bench_usage "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
[[ $MODELS == all ]] && MODELS="inception inception-nobn alexnet rcnn"
for m in $MODELS; do
  case "$m" in
    inception | inception-nobn | alexnet | rcnn) ;;
    *) echo "unknown model: $m (inception, inception-nobn, alexnet, rcnn, all)" >&2; exit 2 ;;
  esac
done

cd "$(dirname "$0")/../.."
RUNNER=target/release/runner
TORCH_SCRIPT=scripts/bench/conv_torch.py
if [[ $BUILD == 1 ]]; then
  cargo build --release --quiet
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# model -> "SPEC VARIANT", then the --set edits (applied before the variant is cut out).
model_spec() {
  case "$1" in
    inception | inception-nobn | alexnet) echo "experiments/random_labels_table1.toml $1" ;;
    rcnn) echo "experiments/rcnn.toml ft-fc7-bb" ;;
  esac
}
model_sets() {
  case "$1" in
    # Pre-training only; the detection pipeline after it runs on 2 canvases per set (untimed).
    rcnn) echo "rcnn.finetune=false rcnn.train_canvases=2 rcnn.test_canvases=2 rcnn.bbox_regression=false rcnn.draw=0" ;;
    *) echo "" ;;
  esac
}

# resolve OUT SPEC [ARG...]: `runner check SPEC ARG...` into OUT; its messages on failure.
resolve() {
  local out=$1
  shift
  if ! "$RUNNER" check "$@" > "$out" 2> "$WORK/check.txt"; then
    echo "error: runner check $* failed:" >&2
    cat "$WORK/check.txt" >&2
    exit 1
  fi
}

# torch ARG...: conv_torch.py's last output line (its JSON); its messages on failure.
torch() {
  if ! "$PYTHON" "$TORCH_SCRIPT" "$@" > "$WORK/torch.out" 2> "$WORK/torch.err"; then
    echo "error: $TORCH_SCRIPT $* failed:" >&2
    cat "$WORK/torch.err" >&2
    exit 1
  fi
  tail -n 1 "$WORK/torch.out"
}

# cut_variant RESOLVED NAME: RESOLVED (the output of `runner check`) with only the variant
# NAME and no [[expect]] (claims name other variants): a runnable one-variant spec.
cut_variant() {
  awk -v want="$2" '
    /^\[\[variant\]\]$/ { flush(); inv = 1; block = $0 "\n"; name = ""; header = 1; next }
    /^\[\[expect\]\]$/ { flush(); inv = 0; skip = 1; next }
    /^\[/ { if (inv) { header = 0; block = block $0 "\n"; next } if (skip) next }
    {
      if (inv) {
        if (header && $0 ~ /^name = /) { name = $0; sub(/^name = "/, "", name); sub(/"$/, "", name) }
        block = block $0 "\n"
      } else if (!skip) print
    }
    function flush() { if (inv && name == want) { printf "%s", block; found = 1 } inv = 0 }
    END { flush(); if (!found) { print "no variant " want > "/dev/stderr"; exit 1 } }
  ' "$1"
}

# same_variant A B NAME: the resolved variant NAME is identical in A and B.
same_variant() {
  "$PYTHON" - "$@" <<'PY'
import sys, tomllib
a, b, name = sys.argv[1:4]
pick = lambda p: next(v for v in tomllib.load(open(p, "rb"))["variant"] if v["name"] == name)
if pick(a) != pick(b):
    sys.exit(f"the cut-out variant {name} does not resolve as in the full spec")
PY
}

field() {  # RESOLVED KEY.PATH: a value of the spec's one variant
  "$PYTHON" -c '
import sys, tomllib
v = tomllib.load(open(sys.argv[1], "rb"))["variant"][0]
for k in sys.argv[2].split("."):
    v = v[k]
print(v)' "$1" "$2"
}

run_runner() {  # threads [binary label]
  bench_runner "$RESULTS" "${3:-runner}" "$1" "$BATCH" "${2:-$RUNNER}" "$ONE" "${RUN_SETS[@]}"
}

run_runners() {  # threads
  run_runner "$1"
  if [[ -n $BASELINE ]]; then
    run_runner "$1" "$BASELINE" baseline
  fi
  check_params
}

run_torch() {  # threads label [ENV=VALUE...]
  local t=$1 label=$2
  shift 2
  (if (($#)); then export "$@"; fi; torch "$RESOLVED" --threads "$t" --steps "$STEPS" --warmup 3) > "$WORK/torch.json"
  bench_torch "$RESULTS" "$label" "$WORK/torch.json"
}

run_torches() {  # threads
  run_torch "$1" torch
  if [[ $PASSIVE == 1 ]]; then
    run_torch "$1" torch_passive OMP_WAIT_POLICY=PASSIVE
  fi
  check_params
}

# check_params: every run so far counted the torch replica's parameters (checked after each
# round, so a mismatch stops the script at once).
check_params() {
  local bad
  bad=$(awk -F'\t' -v want="$TORCH_PARAMS" '$4 != want { print $2 " at " $1 " threads: " $4 }' "$RESULTS")
  if [[ -n $bad ]]; then
    echo "error: $MODEL: parameter counts differ from the torch replica's $TORCH_PARAMS:" >&2
    echo "$bad" >&2
    exit 1
  fi
}

REPORT="$WORK/report.md"
: > "$REPORT"
PROFILES=()
for MODEL in $MODELS; do
  read -r SPEC VARIANT <<< "$(model_spec "$MODEL")"
  SETS=()
  for s in $(model_sets "$MODEL"); do SETS+=(--set "$s"); done
  resolve "$WORK/$MODEL.full.toml" "$SPEC" "${SETS[@]}"
  ONE="$WORK/$MODEL.toml"
  cut_variant "$WORK/$MODEL.full.toml" "$VARIANT" > "$ONE"
  # In the one-variant spec every key is the variant's own: edits go through variant.NAME.
  RUN_SETS=()
  for s in "train.steps=$STEPS" "eval.every=$STEPS" train.checkpoint_every=0 \
    data.test_limit=96; do
    RUN_SETS+=(--set "variant.$VARIANT.$s")
  done
  RESOLVED="$WORK/$MODEL.resolved.toml"
  resolve "$WORK/$MODEL.one.toml" "$ONE"
  same_variant "$WORK/$MODEL.full.toml" "$WORK/$MODEL.one.toml" "$VARIANT"
  resolve "$RESOLVED" "$ONE" "${RUN_SETS[@]}"
  BATCH=$(field "$RESOLVED" train.batch_size)
  torch "$RESOLVED" --count > "$WORK/count.json"
  TORCH_PARAMS=$("$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["params"])' \
    "$WORK/count.json")
  RESULTS="$WORK/$MODEL.tsv"   # threads  impl  images_per_sec  params
  : > "$RESULTS"
  echo "$MODEL: $SPEC variant $VARIANT${SETS[*]:+ (${SETS[*]})}, batch $BATCH" >&2
  interleave "$REPEATS" "$THREADS" run_runners run_torches
  RUNNER_PARAMS=$(awk -F'\t' '$2 == "runner" { print $4; exit }' "$RESULTS")
  {
    echo "### $MODEL"
    echo
    echo "$SPEC, variant \`$VARIANT\`${SETS[*]:+ with ${SETS[*]}}; batch $BATCH," \
      "optimizer $(field "$RESOLVED" train.optimizer) lr $(field "$RESOLVED" train.lr)" \
      "momentum $(field "$RESOLVED" train.momentum)" \
      "weight decay $(field "$RESOLVED" train.weight_decay); parameters: runner" \
      "$RUNNER_PARAMS, torch $TORCH_PARAMS"
    echo
    bench_table "$RESULTS"
    echo
  } >> "$REPORT"
  PROFILES+=("$MODEL $RESOLVED")
done

bench_header "Small conv nets' training speed: runner vs PyTorch (CPU)" \
  "one variant per model, below" "$STEPS" "$REPEATS"
cat "$REPORT"

if [[ $PROFILE == 1 ]]; then
  t=$(echo "$THREADS" | tr ' ' '\n' | sort -n | head -n 1)
  for entry in "${PROFILES[@]}"; do
    read -r MODEL RESOLVED <<< "$entry"
    echo >&2 "torch.profiler: $MODEL at $t thread(s) (load average: $(cut -d' ' -f1 /proc/loadavg))"
    echo "### torch.profiler: $MODEL, $t thread(s), $STEPS steps"
    echo
    echo '```text'
    "$PYTHON" "$TORCH_SCRIPT" "$RESOLVED" --profile --threads "$t" --steps "$STEPS" 2> "$WORK/torch.err" ||
      { cat "$WORK/torch.err" >&2; exit 1; }
    echo '```'
    echo
  done
fi
