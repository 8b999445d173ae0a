#pragma once
// Vector registers for the direct convolution kernels (one_channel*_kernels.cpp), as GCC/Clang
// vector types of L floats. The kernels are templates over L and compiled three times: 16
// lanes for AVX-512, 8 for AVX2 + FMA, 4 for baseline x86-64; the first call picks what
// the machine has. (A vector wider than the machine's registers is split through the
// stack, which is why the width follows the machine.)
#include <cstdint>
#include <cstring>

namespace graphrun::conv {

// Buffers are padded to whole rows of kPad floats, a multiple of every L.
constexpr int64_t kPad = 16;

template <int L>
struct VectorOf;
template <>
struct VectorOf<16> {
  typedef float type __attribute__((vector_size(64)));
};
template <>
struct VectorOf<8> {
  typedef float type __attribute__((vector_size(32)));
};
template <>
struct VectorOf<4> {
  typedef float type __attribute__((vector_size(16)));
};

template <int L>
using Lanes = typename VectorOf<L>::type;

template <int L>
inline __attribute__((always_inline)) void load(Lanes<L>& v, const float* p) {
  std::memcpy(&v, p, sizeof v);
}

template <int L>
inline __attribute__((always_inline)) void store(float* p, const Lanes<L>& v) {
  std::memcpy(p, &v, sizeof v);
}

template <int L>
inline __attribute__((always_inline)) float sum_lanes(const Lanes<L>& v) {
  float s = 0;
  for (int i = 0; i < L; ++i) s += v[i];
  return s;
}

// The widest vectors this machine's kernels use: 16 lanes with AVX-512, 8 with AVX2 + FMA,
// 4 otherwise (baseline x86-64).
inline int native_lanes() {
  static const int lanes = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return 16;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 8;
    return 4;
  }();
  return lanes;
}

// Whole L-vectors covering n floats.
template <int L>
constexpr int64_t vectors(int64_t n) {
  return (n + L - 1) / L;
}

}  // namespace graphrun::conv
