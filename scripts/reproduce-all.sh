#!/usr/bin/env bash
# Reproduces every paper that has a scripts/reproduce-<paper>.sh, one after the other, each
# sweep then report with its claims checked; then prints the claim table over all results and
# the scorecard (`runner report --scorecard`: one row per paper with its claims, PASS, FAIL and
# the minutes its runs took), and the total wall time.
#
# Total time on the 2-core reference machine: ~32 min (reproduce-bn.sh, 3 seeds; 13 min with
# SEEDS=1), plus reproduce-rcnn.sh's ~52 min at one thread (rcnn_table2 over 3 seeds,
# rcnn_pool5 and rcnn.toml on one: POOL5_SEEDS=1). Each paper's script states its own time.
# SEEDS, JOBS and OUT are passed on; each paper's results go to $OUT/<paper>/ (default
# results/reproduce/<paper>/). Exit status: 0 when every claim holds, 3 when one FAILs.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT_ROOT=${OUT:-results/reproduce}
status=0
dirs=()
all_start=$(date +%s)
for script in scripts/reproduce-*.sh; do
    [ "$script" = scripts/reproduce-all.sh ] && continue
    paper=$(basename "$script" .sh)
    paper=${paper#reproduce-}
    echo "==== $paper ($script)" >&2
    start=$(date +%s)
    OUT="$OUT_ROOT/$paper" "$script"
    rc=$?
    echo "==== $paper: exit $rc after $(( ($(date +%s) - start) / 60 )) min" >&2
    if [ "$rc" -ne 0 ] && [ "$status" -eq 0 ]; then status=$rc; fi
    dirs+=("$OUT_ROOT/$paper")
done
echo "==== all claims" >&2
target/release/runner report "${dirs[@]}" --check || true
echo "==== scorecard" >&2
target/release/runner report "${dirs[@]}" --scorecard 2>/dev/null || true
echo "total wall time: $(( ($(date +%s) - all_start) / 60 )) min" >&2
exit "$status"
