#pragma once
#include <graphrun/tensor.hpp>
#include <graphrun/node.hpp>

#include <cstdint>
#include <string>

namespace graphrun {

// Fills a plain tensor from a Keras-style initialiser: glorot_uniform, he_normal,
// zeros, ones, normal(mean, std), constant(value). Throws Error on an unknown name.
void initialize(Tensor& t, const std::string& init, const ParamSpec& spec, uint64_t seed);
void check_initializer(const std::string& init);  // throws Error naming the choices

}  // namespace graphrun
