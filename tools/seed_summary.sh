#!/usr/bin/env bash
# Mean and spread (max - min) over seeds of the figures in lines holding a run's test.json.
set -euo pipefail
awk '
  { for (i = 1; i <= NF; i++) if ($i ~ /"(accuracy|precision_same|recall_same|f1_same)":/) {
      key = $i; gsub(/[":]/, "", key); v = $(i + 1); gsub(/,/, "", v); v += 0
      sum[key] += v; n[key]++
      if (!(key in lo) || v < lo[key]) lo[key] = v
      if (!(key in hi) || v > hi[key]) hi[key] = v } }
  END { for (k in sum) printf "%s: mean %.4f, spread %.4f (min %.4f, max %.4f) over %d seeds\n", k, sum[k] / n[k], hi[k] - lo[k], lo[k], hi[k], n[k] }
' "$1" | sort
