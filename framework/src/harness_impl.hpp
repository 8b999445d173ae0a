#pragma once
// NodeHarness's state, shared by harness.cpp (set-up, passes) and harness_checks.cpp.
#include <graphrun/harness.hpp>

#include <vector>

namespace graphrun {

struct NodeHarness::Impl {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  const OpInfo* info = nullptr;
  Options opt;
  std::vector<Tensor> inputs, input_grads, params, param_grads;
  Tensor output, output_grad;
};

}  // namespace graphrun
