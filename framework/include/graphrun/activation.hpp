#pragma once
// Activation functions, named alike by every op that applies one (its `activation`
// attribute, the activation node's `function`) and by the fusion stages (fusion.hpp).
#include <graphrun/attributes.hpp>

#include <string>
#include <vector>

namespace graphrun {

enum class Activation { linear, relu, sigmoid, tanh, softmax };

// Element-wise: every function but softmax, which normalises along an axis.
inline bool is_pointwise(Activation a) { return a != Activation::softmax; }

// "linear", "relu", "sigmoid", "tanh", "softmax".
const char* activation_name(Activation a);

// Attribute `name` as one of `allowed`; the fallback "" makes the attribute required.
// A value outside `allowed` is an Error listing them.
Activation read_activation(const Attributes& a, const std::string& name, const std::string& fallback,
                           const std::vector<Activation>& allowed);

}  // namespace graphrun
