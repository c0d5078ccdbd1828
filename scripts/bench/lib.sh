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
