#pragma once
// Pooling over [channels, height, width] with Keras MaxPooling2D / AveragePooling2D
// semantics; max_pool2d.cpp and avg_pool2d.cpp instantiate it.
#include <graphrun/registry.hpp>

#include <string>

namespace graphrun::conv {

std::unique_ptr<Node> make_pool2d(const Attributes& a, dnnl::algorithm algorithm, const std::string& op);
std::vector<AttrSpec> pool2d_attrs();

}  // namespace graphrun::conv
