#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (ASan + UBSan) into build-fuzz/ and
# runs each for the given time, one after the other, at low priority:
#   tools/fuzz.sh [seconds] [target ...]   seconds per target (default 600); targets:
#                                          graph_spec idx checkpoint pair_file image_decode
# Each starts from its seeds (tests/fuzz/corpus/<target>/) and what earlier runs added
# (build-fuzz/corpus/<target>/); a finding is written to build-fuzz/artifacts/<target>/ and
# the log to build-fuzz/logs/<target>.log (<target>.<pid>.log while another run fuzzes the
# same target). Exit 1 if any target found something. Temporary files go to a folder of the
# run's own under $TMPDIR, removed at the end.
# (It runs everything under nice itself: a `nice tools/fuzz.sh` left the fuzzers at 19.)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(graph_spec idx checkpoint pair_file image_decode)
cxx="${GRAPHRUN_FUZZ_CXX:-clang++-14}"

declare -A max_len=([graph_spec]=16384 [idx]=8192 [checkpoint]=8192 [pair_file]=4096 [image_decode]=16384)
for t in "${targets[@]}"; do
  [ -n "${max_len[$t]:-}" ] || { echo "tools/fuzz.sh: unknown target '$t'" >&2; exit 2; }
done

# Two runs at once share build-fuzz/: the lock keeps their builds from overlapping.
mkdir -p build-fuzz
(
  flock 9
  nice cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$cxx" \
    -DGRAPHRUN_FUZZ=ON -DGRAPHRUN_TESTS=OFF >/dev/null
  nice cmake --build build-fuzz -j2 --target "${targets[@]/#/fuzz_}"
) 9>build-fuzz/.build.lock

# The fuzzers' files go to a folder of their own per run (each fuzzer makes its own inside
# it), removed here too: a crash, timeout or interrupt ends a fuzzer before its clean-up.
run_tmp="$(mktemp -d "${TMPDIR:-/tmp}/graphrun_fuzz_run.XXXXXX")"
trap 'rm -rf "$run_tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
export TMPDIR="$run_tmp"

export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:allocator_may_return_null=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export OMP_NUM_THREADS=1
failed=()
for t in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus/$t" "build-fuzz/artifacts/$t" build-fuzz/logs
  log="build-fuzz/logs/$t.log"
  # Another run fuzzing the same target holds its log: this run's log takes the pid.
  exec 8>"build-fuzz/logs/$t.lock"
  flock -n 8 || log="build-fuzz/logs/$t.$$.log"
  echo "fuzz_$t: ${seconds} s, max_len ${max_len[$t]}, log $log"
  dict=()
  [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
  status=0
  nice build-fuzz/tests/fuzz/fuzz_"$t" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 \
    -max_len="${max_len[$t]}" -print_final_stats=1 "${dict[@]}" -artifact_prefix="build-fuzz/artifacts/$t/" \
    "build-fuzz/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1 || status=$?
  grep -aE "^Done [0-9]+ runs|stat::number_of_executed_units|stat::peak_rss_mb" "$log" | sed 's/^/  /' || true
  if [ $status -ne 0 ]; then
    failed+=("$t")
    echo "  FOUND (exit $status):"
    grep -aE "^==[0-9]+==ERROR|runtime error|Test unit written|^SUMMARY|terminate called|deadly signal|out-of-memory|timeout" "$log" | head -8 | sed 's/^/    /'
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing found something in: ${failed[*]} (see build-fuzz/artifacts/ and build-fuzz/logs/)"
  exit 1
fi
echo "fuzzing: no findings in ${targets[*]}"
