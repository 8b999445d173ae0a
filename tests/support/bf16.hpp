#pragma once
// Tests of train.precision: bf16 run where the CPU has bf16 arithmetic, and elsewhere skip,
// saying so (the setting is refused there: train/precision.hpp).
#include "train/precision.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace graphrun::testing {

// True, after a MESSAGE naming the missing features, where this CPU cannot compute in bf16.
inline bool skip_without_bf16() {
  if (!bf16_features(cpu_flags()).empty()) return false;
  MESSAGE("skipped: this CPU has neither avx512_bf16 nor amx_bf16 in /proc/cpuinfo, so bf16 is refused here");
  return true;
}

// The nearest value bf16 holds (round to nearest even), as f32: with such inputs a bf16
// product is exact and only the order of the f32 sums differs.
inline float to_bf16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  bits = (bits + 0x7fffu + ((bits >> 16) & 1u)) & 0xffff0000u;
  std::memcpy(&x, &bits, 4);
  return x;
}

inline std::vector<float> to_bf16(std::vector<float> v) {
  for (float& x : v) x = to_bf16(x);
  return v;
}

}  // namespace graphrun::testing
