#include <graphrun/activation.hpp>

namespace graphrun {

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::linear: return "linear";
    case Activation::relu: return "relu";
    case Activation::sigmoid: return "sigmoid";
    case Activation::tanh: return "tanh";
    case Activation::softmax: return "softmax";
  }
  return "?";
}

Activation read_activation(const Attributes& a, const std::string& name, const std::string& fallback,
                           const std::vector<Activation>& allowed) {
  if (fallback.empty()) a.text(name);  // missing -> "missing required attribute"
  std::vector<std::string> names;
  for (Activation f : allowed) names.push_back(activation_name(f));
  const std::string chosen = a.choice(name, fallback, names);
  for (Activation f : allowed)
    if (chosen == activation_name(f)) return f;
  return Activation::linear;  // not reached: choice() refused anything else
}

}  // namespace graphrun
