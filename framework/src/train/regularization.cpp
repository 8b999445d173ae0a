#include "train/regularization.hpp"

namespace graphrun {
namespace {
// Small tensors are not worth waking the threads for.
constexpr int64_t kParallelFrom = 1 << 15;
}  // namespace

void add_l2_gradients(std::vector<Parameter>& params) {
  for (Parameter& prm : params) {
    if (!prm.trainable || prm.l2 <= 0) continue;
    float* w = prm.value.data();
    float* g = prm.grad.data();
    const int64_t n = int64_t(prm.value.size());  // padding of a blocked layout included: zero, and stays so
    const float k = float(2 * prm.l2);
#pragma omp parallel for simd schedule(static) if (n >= kParallelFrom)
    for (int64_t i = 0; i < n; ++i) g[i] += k * w[i];
  }
}

double regularization_loss(const std::vector<Parameter>& params) {
  double total = 0;
  for (const auto& p : params) {
    if (p.l2 <= 0) continue;
    const float* w = p.value.data();
    // Tensor::size() asks oneDNN for the descriptor's size: once, not once per value.
    const int64_t n = int64_t(p.value.size());
    double s = 0;
#pragma omp parallel for simd reduction(+ : s) schedule(static) if (n >= kParallelFrom)
    for (int64_t i = 0; i < n; ++i) s += double(w[i]) * w[i];
    total += p.l2 * s;
  }
  return total;
}

}  // namespace graphrun
