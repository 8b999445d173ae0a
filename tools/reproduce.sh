#!/usr/bin/env bash
# Trains a graph with seeds 0, 1 and 2 and prints each seed's test figures and their
# mean and spread (max - min): how every figure in the README is measured.
#   tools/reproduce.sh graphs/r3_siamese_mlp.yaml [extra graphrun train options]
set -euo pipefail
cd "$(dirname "$0")/.."
graph="$1"; shift
graphrun="${GRAPHRUN:-./build/graphrun}"
name="$(basename "$graph" .yaml)"
for seed in 0 1 2; do
  "$graphrun" train "$graph" --seed "$seed" --out "runs/$name/seed$seed" --quiet "$@" > "runs/$name.seed$seed.log" 2>&1 \
    || { cat "runs/$name.seed$seed.log"; exit 1; }
  secs=$(awk -F, 'NR > 1 { s += $NF; n++ } END { printf "%.2f", s / n }' "runs/$name/seed$seed/history.csv")
  echo "seed $seed: $(cat "runs/$name/seed$seed/test.json") mean_epoch_seconds: $secs"
done | tee "runs/$name.seeds.txt"
tools/seed_summary.sh "runs/$name.seeds.txt"
