#pragma once
// NodeHarness's state, shared by harness.cpp (set-up, passes) and harness_checks.cpp.
#include "graph/derived_store.hpp"

#include <graphrun/harness.hpp>

#include <memory>
#include <string>
#include <vector>

namespace graphrun {

struct NodeHarness::Impl {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  const OpInfo* info = nullptr;
  Options opt;
  std::vector<Tensor> inputs, input_grads, params, param_grads;
  Tensor output, output_grad;
  std::unique_ptr<DerivedStore> derived;  // the node's (PlanContext::derived)
  // For check_against_reference: what made the node.
  const Registry* registry = nullptr;
  std::string op;
  Attributes attrs;
  std::vector<Shape> input_shapes;
  // Options::readers, planned plainly and bound: the reference chain, whose parameters
  // the absorbed affine stages read.
  struct Reader {
    std::unique_ptr<DerivedStore> derived;
    std::unique_ptr<Node> node;
    std::vector<Tensor> params;
    Tensor input, output;
  };
  std::vector<Reader> readers;
  size_t absorbed = 0;

  // harness_offers.cpp. Options::readers made, inferred, planned plainly and bound; returns
  // the stages to offer (by the plan's patterns). `shape`: the node's per-sample output.
  std::vector<EpilogueStage> prepare_readers(const Shape& shape, bool inference);
  // The output descriptor after the first `k` readers, planned afresh from `desc` as a
  // plan plans absorbed nodes; `shape` becomes the last one's per-sample shape.
  dnnl::memory::desc absorbed_output(size_t k, dnnl::memory::desc desc, Shape& shape);
};

}  // namespace graphrun
