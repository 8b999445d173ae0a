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
awk '
  { for (i = 1; i <= NF; i++) if ($i ~ /"(accuracy|precision_same|recall_same|f1_same)":/) {
      key = $i; gsub(/[":]/, "", key); v = $(i + 1); gsub(/,/, "", v); v += 0
      sum[key] += v; n[key]++
      if (!(key in lo) || v < lo[key]) lo[key] = v
      if (!(key in hi) || v > hi[key]) hi[key] = v } }
  END { for (k in sum) printf "%s: mean %.4f, spread %.4f (min %.4f, max %.4f) over %d seeds\n", k, sum[k] / n[k], hi[k] - lo[k], lo[k], hi[k], n[k] }
' "runs/$name.seeds.txt" | sort
