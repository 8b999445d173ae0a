#pragma once
// Deterministic values for every parameter of a model, for tests that compare two plans
// or two graphs on the same weights: uniform in [-1, 1], variances in (0.1, 0.9).
#include "graph/model.hpp"

#include <random>
#include <string>

namespace graphrun::testing {

inline void set_random_params(Model& m, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uni(-1, 1);
  for (Parameter& p : m.params()) {
    const bool variance = p.name.find("variance") != std::string::npos;
    for (size_t i = 0; i < p.value.size(); ++i) p.value.data()[i] = variance ? 0.5f + 0.4f * uni(rng) : uni(rng);
  }
}

}  // namespace graphrun::testing
