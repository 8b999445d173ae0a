#include "train/regularization.hpp"

namespace graphrun {

void add_l2_gradients(std::vector<Parameter>& params) {
  for (Parameter& prm : params) {
    if (!prm.trainable || prm.l2 <= 0) continue;
    float* w = prm.value.data();
    float* g = prm.grad.data();
    const size_t n = prm.value.size();  // padding of a blocked layout included: zero, and stays so
    const float k = float(2 * prm.l2);
    for (size_t i = 0; i < n; ++i) g[i] += k * w[i];
  }
}

double regularization_loss(const std::vector<Parameter>& params) {
  double total = 0;
  for (const auto& p : params) {
    if (p.l2 <= 0) continue;
    const float* w = p.value.data();
    double s = 0;
    for (size_t i = 0; i < p.value.size(); ++i) s += double(w[i]) * w[i];
    total += p.l2 * s;
  }
  return total;
}

}  // namespace graphrun
