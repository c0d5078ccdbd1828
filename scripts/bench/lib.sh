# Shared by the speed scripts in scripts/bench/; sourced, not run. How to run them and read
# their output: docs/benchmarks.md.

# bench_usage SCRIPT: prints SCRIPT's header comment (from line 2 up to `set -euo pipefail`).
bench_usage() {
  sed -n '2,/^set -euo/p' "$1" | sed '$d'
}

# interleave REPEATS "THREADS..." RUNNER_FN TORCH_FN: for each repeat, and in it each thread
# count T, calls `RUNNER_FN T` and `TORCH_FN T`, the runner first in odd repeats and torch first
# in even ones, so background load on a shared machine hits both sides alike. Each round is
# logged to stderr with the load average.
interleave() {
  local repeats=$1 threads=$2 runner_fn=$3 torch_fn=$4 rep t
  for rep in $(seq 1 "$repeats"); do
    for t in $threads; do
      echo "rep $rep/$repeats, threads $t (load average: $(cut -d' ' -f1 /proc/loadavg))" >&2
      if (( rep % 2 == 1 )); then
        "$runner_fn" "$t"; "$torch_fn" "$t"
      else
        "$torch_fn" "$t"; "$runner_fn" "$t"
      fi
    done
  done
}

# bench_runner RESULTS LABEL THREADS BATCH BIN SPEC [ARG...]: one timed `BIN run SPEC ARG...`
# at THREADS threads, into a fresh results folder under $WORK; appends
# "THREADS<tab>LABEL<tab>images/s<tab>params" to RESULTS. images/s is summary.csv's
# `images_per_sec` where the kind records it, else steps x BATCH / train_seconds: the same
# quantity (the wall time of the training steps, data gathering and the first, slower steps
# included, evaluation and checkpoints excluded).
bench_runner() {
  local results=$1 label=$2 t=$3 batch=$4 bin=$5 spec=$6 dir summary
  shift 6
  dir=$(mktemp -d -p "$WORK")
  "$bin" run "$spec" "$@" --threads "$t" -q --results "$dir" > "$dir/stdout.txt"
  summary=$(find "$dir" -name summary.csv | head -n 1)
  awk -F, -v t="$t" -v label="$label" -v batch="$batch" '
    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    NR == 2 {
      if ("images_per_sec" in col) ips = $col["images_per_sec"]
      else if (batch == "") { print FILENAME ": no images_per_sec and no batch given" > "/dev/stderr"; exit 1 }
      else ips = sprintf("%.1f", $col["steps"] * batch / $col["train_seconds"])
      print t "\t" label "\t" ips "\t" $col["params"]
    }' "$summary" >> "$results"
}

# bench_torch RESULTS LABEL JSON: appends "threads<tab>LABEL<tab>images/s[*]<tab>params" from a
# torch script's JSON line (`*`: the run stopped early at its time cap).
bench_torch() {
  "$PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
ips = str(d["images_per_sec"]) + ("*" if d["truncated"] else "")
print(d["threads"], sys.argv[2], ips, d.get("params", ""), sep="\t")
' "$3" "$2" >> "$1"
}

# bench_header TITLE SPEC_LINE STEPS REPEATS: the report's title and environment lines
# (versions of $RUNNER and $PYTHON's torch, CPU, load average).
bench_header() {
  echo
  echo "## $1"
  echo
  echo "- spec: $2"
  echo "- runner: $("$RUNNER" --version); torch: $("$PYTHON" -c 'import warnings; warnings.filterwarnings("ignore"); import torch; print(torch.__version__)')"
  echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- $3 timed steps per run, median of $4 runs"
  echo
}

# bench_table RESULTS: a Markdown table of RESULTS' rows ("threads<tab>impl<tab>images/s..."),
# one row per thread count: medians of runner and torch, their ratio, and where present the
# `baseline` runner's and `torch_passive`'s columns, then every run's rate.
bench_table() {
  "$PYTHON" - "$1" <<'PY'
import statistics, sys

runs = {}
for line in open(sys.argv[1]):
    t, impl, ips = line.rstrip("\n").split("\t")[:3]
    runs.setdefault(int(t), {}).setdefault(impl, []).append(ips)
med = lambda xs: statistics.median(float(x.rstrip("*")) for x in xs) if xs else float("nan")
passive = any("torch_passive" in d for d in runs.values())
baseline = any("baseline" in d for d in runs.values())
head = ["threads", "runner images/s", "torch images/s", "runner/torch"]
if baseline:
    head += ["baseline images/s", "baseline/torch", "runner/baseline"]
if passive:
    head += ["torch PASSIVE images/s", "runner/torch PASSIVE"]
head += ["runs (runner; torch)"]
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for t in sorted(runs):
    d = runs[t]
    r, p, q = d.get("runner", []), d.get("torch", []), d.get("torch_passive", [])
    o = d.get("baseline", [])
    cells = [str(t), f"{med(r):.1f}", f"{med(p):.1f}", f"{med(r) / med(p):.2f}"]
    if baseline:
        cells += [f"{med(o):.1f}", f"{med(o) / med(p):.2f}", f"{med(r) / med(o):.2f}"]
    if passive:
        cells += [f"{med(q):.1f}", f"{med(r) / med(q):.2f}"]
    cells += [" ".join(r) + "; " + " ".join(p + q) + ("; baseline " + " ".join(o) if o else "")]
    print("| " + " | ".join(cells) + " |")
PY
}
