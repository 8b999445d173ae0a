#pragma once
// Deterministic values for every parameter of a model, for tests that compare two plans
// or two graphs on the same weights: uniform in [-1, 1], variances in (0.1, 0.9). And
// such values for any tensor.
#include "graph/model.hpp"

#include <random>
#include <string>
#include <vector>

namespace graphrun::testing {

// n values uniform in [-1, 1], the same for the same seed.
inline std::vector<float> uniform_values(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uni(-1, 1);
  std::vector<float> v(n);
  for (float& x : v) x = uni(rng);
  return v;
}

inline void set_random_params(Model& m, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uni(-1, 1);
  for (Parameter& p : m.params()) {
    const bool variance = p.name.find("variance") != std::string::npos;
    for (size_t i = 0; i < p.value.size(); ++i) p.value.data()[i] = variance ? 0.5f + 0.4f * uni(rng) : uni(rng);
  }
}

}  // namespace graphrun::testing
