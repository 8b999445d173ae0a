#!/usr/bin/env bash
# R1 over seeds 0, 1 and 2: for each seed, train the digit classifier, then score the
# product matcher (no training) and train the dense matcher on top of that classifier.
#   tools/reproduce_r1.sh [extra graphrun options, e.g. --threads 2]
set -euo pipefail
cd "$(dirname "$0")/.."
graphrun="${GRAPHRUN:-./build/graphrun}"
mkdir -p runs
: > runs/r1_digit_classifier.seeds.txt; : > runs/r1_product_matcher.seeds.txt; : > runs/r1_dense_matcher.seeds.txt
for seed in 0 1 2; do
  "$graphrun" train graphs/r1_digit_classifier.yaml --seed "$seed" --out "runs/r1_digit_classifier/seed$seed" --quiet "$@" \
    > "runs/r1_digit_classifier.seed$seed.log" 2>&1 || { cat "runs/r1_digit_classifier.seed$seed.log"; exit 1; }
  # The matchers read the classifier from runs/r1_digit_classifier/weights.safetensors.
  cp "runs/r1_digit_classifier/seed$seed/weights.safetensors" runs/r1_digit_classifier/weights.safetensors
  "$graphrun" eval graphs/r1_product_matcher.yaml --seed "$seed" --out "runs/r1_product_matcher/seed$seed" "$@" \
    > "runs/r1_product_matcher.seed$seed.log" 2>&1 || { cat "runs/r1_product_matcher.seed$seed.log"; exit 1; }
  "$graphrun" train graphs/r1_dense_matcher.yaml --seed "$seed" --out "runs/r1_dense_matcher/seed$seed" --quiet "$@" \
    > "runs/r1_dense_matcher.seed$seed.log" 2>&1 || { cat "runs/r1_dense_matcher.seed$seed.log"; exit 1; }
  for g in r1_digit_classifier r1_product_matcher r1_dense_matcher; do
    secs=$(awk -F, 'NR > 1 { s += $NF; n++ } END { if (n) printf "%.2f", s / n; else printf "-" }' "runs/$g/seed$seed/history.csv" 2>/dev/null || echo -)
    echo "seed $seed: $(cat "runs/$g/seed$seed/test.json") mean_epoch_seconds: $secs" | tee -a "runs/$g.seeds.txt"
  done
done
for g in r1_digit_classifier r1_product_matcher r1_dense_matcher; do
  echo "== $g"; tools/seed_summary.sh "runs/$g.seeds.txt"
done
