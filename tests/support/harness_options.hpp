#pragma once
// NodeHarness options most op tests need: a batch size and which inputs want gradients.
#include <graphrun/harness.hpp>

#include <vector>

namespace graphrun::testing {

inline NodeHarness::Options batch_of(int64_t n, std::vector<bool> needs_input_grad = {}) {
  NodeHarness::Options o;
  o.batch = n;
  o.needs_input_grad = std::move(needs_input_grad);
  return o;
}

}  // namespace graphrun::testing
