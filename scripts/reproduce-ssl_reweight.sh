#!/usr/bin/env bash
# Reproduces Ren, Yeh & Schwing 2020 ("Not All Unlabeled Data are Equal") end to end:
#   experiments/ssl_reweight.toml (supervised / uniform / learned weights and three controls on
#   mnist-10k with 100 labels) and experiments/ssl_reweight_ood.toml (Fashion-MNIST items among
#   the unlabeled digits; skipped without Fashion-MNIST), each over SEEDS seeds; the 2-D toy
#   study (experiments/ssl_reweight_toy.toml) over TOY_SEEDS seeds.
# Each spec is swept (cells run JOBS at a time), then one report: mean ± std tables, learning
# curves, and the paper's claims checked.
#
# Time on the 2-core reference machine, lightly shared (load average ~8): ~19 min (one seed of
# ssl_reweight.toml 5.5 min, the three OOD seeds 2.6 min, the toy study 1 s; one seed took 30 min
# with five other jobs on the machine). Interrupt it at any point and run it again:
# finished cells are kept, interrupted ones resume from their checkpoints.
#
#   scripts/reproduce-ssl_reweight.sh        # results/reproduce/ssl_reweight/<spec>/ + report/
#   SEEDS=1 scripts/reproduce-ssl_reweight.sh
# Exit status: 0 when every claim holds, 3 when one FAILs (see report/claims.csv).
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=${SEEDS:-3}
TOY_SEEDS=${TOY_SEEDS:-5}
JOBS=${JOBS:-1}
OUT=${OUT:-results/reproduce/ssl_reweight}
. scripts/lib/reproduce.sh

specs=(experiments/ssl_reweight.toml "experiments/ssl_reweight_toy.toml:$TOY_SEEDS")
with_fashion experiments/ssl_reweight_ood.toml && specs+=(experiments/ssl_reweight_ood.toml)
reproduce "${specs[@]}"
