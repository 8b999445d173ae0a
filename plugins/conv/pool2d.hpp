#pragma once
// Pooling over [channels, height, width] with Keras MaxPooling2D / AveragePooling2D
// semantics; max_pool2d.cpp and avg_pool2d.cpp instantiate it.
#include <graphrun/registry.hpp>

#include <optional>
#include <string>

namespace graphrun::conv {

std::unique_ptr<Node> make_pool2d(const Attributes& a, dnnl::algorithm algorithm, const std::string& op);
std::vector<AttrSpec> pool2d_attrs();

// The window of a pooling node of this family, for a producer that computes the pooling
// in its own forward (PlanContext::next); nullopt for any other node.
struct PoolWindow {
  bool max = false;
  int64_t kernel_h = 0, kernel_w = 0, stride_h = 0, stride_w = 0, pad_top = 0, pad_left = 0;
  int64_t out_h = 0, out_w = 0;
};
std::optional<PoolWindow> pool_window(const Node& node);

}  // namespace graphrun::conv
