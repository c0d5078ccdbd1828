#!/usr/bin/env bash
# Reproduces MobileNetV2's checked claims end to end (Sandler et al. 2018): Table 4's
# parameter and multiply-add counts with the width/resolution family
# (experiments/mobilenetv2_table4.toml, counts only, one seed) and, where Fashion-MNIST is
# installed, the Figure 6 ablations (experiments/mobilenetv2_ablation.toml: linear vs ReLU6
# bottlenecks, shortcuts between bottlenecks vs expansions vs none, over SEEDS seeds).
# Then one report with the paper's claims checked.
#
# Time on the 2-core reference machine: the ablation's 3 seeds x 4 variants of 100 steps took
# 13 min (771 s, one cell at a time, niced, beside four other jobs); Table 4 under a second.
# Interrupt it at any point and run it again: finished cells are kept.
#
# Exit status: 0 when every claim holds, 3 when one FAILs.
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=${SEEDS:-3}
JOBS=${JOBS:-2}
OUT=${OUT:-results/reproduce/mobilenetv2}
. scripts/lib/reproduce.sh

specs=(experiments/mobilenetv2_table4.toml:1)
with_fashion experiments/mobilenetv2_ablation.toml && specs+=(experiments/mobilenetv2_ablation.toml)
reproduce "${specs[@]}"
