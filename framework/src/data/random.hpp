#pragma once
// Small random helpers with a fully specified output. std::uniform_int_distribution and
// std::shuffle may give different results with different standard libraries; these give
// the same numbers everywhere, so a seed reproduces a run on any machine.
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace graphrun::data {

// Uniform integer in [0, n), n > 0. Rejection sampling keeps it exactly uniform.
inline uint64_t uniform_below(std::mt19937_64& rng, uint64_t n) {
  const uint64_t threshold = (0 - n) % n;  // 2^64 mod n: values below it would bias the result
  for (;;) {
    const uint64_t r = rng();
    if (r >= threshold) return r % n;
  }
}

// Uniform double in [0, 1) from the top 53 bits.
inline double uniform_unit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// Fisher-Yates shuffle.
template <class T>
void shuffle_in_place(std::vector<T>& v, std::mt19937_64& rng) {
  for (size_t i = v.size(); i > 1; --i) {
    const size_t j = static_cast<size_t>(uniform_below(rng, i));
    std::swap(v[i - 1], v[j]);
  }
}

// Derives an independent seed for a sub-stream (an epoch, a rank) from a base seed (splitmix64).
inline uint64_t mix_seed(uint64_t seed, uint64_t stream) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (stream + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace graphrun::data
