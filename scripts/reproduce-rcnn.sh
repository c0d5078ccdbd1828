#!/usr/bin/env bash
# Reproduces R-CNN's checked claims end to end (Girshick et al. 2014) on digit canvases:
# Table 2 (experiments/rcnn_table2.toml: pool5/fc6/fc7 features without and with fine-tuning,
# and fine-tuned fc7 with box regression; the recall of selective search) over SEEDS seeds,
# the main row alone (experiments/rcnn.toml, one seed: the pipeline as a user runs it), and,
# where Fashion-MNIST is installed, the tests of our explanation for pool5's strength
# (experiments/rcnn_pool5.toml: fc layers of 1,024 units; pre-training on Fashion-MNIST).
# Then one report with the paper's claims checked.
#
# Time on the 2-core reference machine at one thread (THREADS=1, beside other jobs):
# rcnn_table2 27 min for 3 seeds, rcnn_pool5 17 min for one, rcnn.toml 7 min: 52 min with
# POOL5_SEEDS=1 (docs/results/rcnn.md). Interrupt it at any point and run it again: finished
# cells are kept.
#
#   scripts/reproduce-rcnn.sh                      # results/reproduce/rcnn/... + report/
#   SEEDS=1 JOBS=1 THREADS=1 scripts/reproduce-rcnn.sh
#   POOL5_SEEDS=1 scripts/reproduce-rcnn.sh        # rcnn_pool5 on one seed, the rest on SEEDS
# Exit status: 0 when every claim holds, 3 when one FAILs (see report/claims.csv).
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=${SEEDS:-3}
JOBS=${JOBS:-1}
OUT=${OUT:-results/reproduce/rcnn}
. scripts/lib/reproduce.sh

# rcnn_pool5 before rcnn.toml: the main row alone repeats rcnn_table2's ft-fc7-bb row on seed 1.
specs=(experiments/rcnn_table2.toml)
with_fashion experiments/rcnn_pool5.toml && specs+=(experiments/rcnn_pool5.toml:${POOL5_SEEDS:-$SEEDS})
specs+=(experiments/rcnn.toml:1)
reproduce "${specs[@]}"
