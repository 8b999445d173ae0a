#!/usr/bin/env bash
# Steady under load: the seconds of one training epoch of a graph on a quiet machine, then
# with one and with two busy processes beside it (each a shell loop on one core), at the
# default thread count (adaptive) and, for comparison, with --threads fixed to the cores.
#   tools/load_test.sh [graph ...]     default: graphs/r3_siamese_mlp.yaml graphs/r4_conv_siamese.yaml
set -euo pipefail
cd "$(dirname "$0")/.."
graphs=("$@")
[ ${#graphs[@]} -eq 0 ] && graphs=(graphs/r3_siamese_mlp.yaml graphs/r4_conv_siamese.yaml)
cores=$(nproc)
out=$(mktemp -d)
busy_pids=()
start_busy() { for _ in $(seq "$1"); do (while :; do :; done) & busy_pids+=($!); done; }
stop_busy() { [ ${#busy_pids[@]} -gt 0 ] && kill "${busy_pids[@]}" 2>/dev/null; wait 2>/dev/null || true; busy_pids=(); }
trap 'stop_busy; rm -rf "$out"' EXIT

# The first epoch's seconds from history.csv (its last column).
epoch_seconds() {
  build/graphrun train "$1" --epochs 1 --quiet --out "$out/run" "${@:2}" >/dev/null 2>&1
  awk -F, 'NR == 2 { print $NF }' "$out/run/history.csv"
}

printf "%-28s %-10s %10s %10s %10s %8s %8s\n" graph threads quiet "1 busy" "2 busy" "x 1" "x 2"
for g in "${graphs[@]}"; do
  for mode in adaptive fixed; do
    extra=()
    [ "$mode" = fixed ] && extra=(--threads "$cores")
    q=$(epoch_seconds "$g" "${extra[@]}")
    start_busy 1; b1=$(epoch_seconds "$g" "${extra[@]}"); stop_busy
    start_busy 2; b2=$(epoch_seconds "$g" "${extra[@]}"); stop_busy
    printf "%-28s %-10s %10.2f %10.2f %10.2f %8.2f %8.2f\n" "$(basename "$g" .yaml)" "$mode" "$q" "$b1" "$b2" \
      "$(awk "BEGIN { print $b1 / $q }")" "$(awk "BEGIN { print $b2 / $q }")"
  done
done
