#include "one_channel.hpp"

#include <algorithm>
#include <cmath>

namespace graphrun::norm {
namespace {

// Sum of term(i) over [0, n): 16 float lanes (vectorisable without reordering any lane's
// additions), emptied into a double every 1,024 values so that long sums keep their digits.
template <class Term>
inline double lane_sum(int64_t n, Term term) {
  constexpr int64_t kLanes = 16, kBlock = 1024;
  double total = 0;
  int64_t i = 0;
  const int64_t whole = n - n % kLanes;
  while (i < whole) {
    float acc[kLanes] = {};
    const int64_t end = std::min(whole, i + kBlock);
    for (; i < end; i += kLanes)
      for (int64_t j = 0; j < kLanes; ++j) acc[j] += term(i + j);
    for (float a : acc) total += a;
  }
  for (; i < n; ++i) total += term(i);
  return total;
}

}  // namespace

#define GRAPHRUN_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

GRAPHRUN_VECTOR_CLONES void one_channel_forward(const float* x, int64_t n, float gamma, float beta, float eps,
                                                bool relu, float* y, float* mean, float* variance) {
  // Two passes: the mean, then squares about it.
  const float m = float(lane_sum(n, [&](int64_t i) { return x[i]; }) / double(n));
  const float v = float(lane_sum(n, [&](int64_t i) { return (x[i] - m) * (x[i] - m); }) / double(n));
  const float scale = gamma / std::sqrt(v + eps), shift = beta - m * scale;
  if (relu) {
    for (int64_t i = 0; i < n; ++i) y[i] = std::max(x[i] * scale + shift, 0.f);
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale + shift;
  }
  *mean = m;
  *variance = v;
}

GRAPHRUN_VECTOR_CLONES void one_channel_backward(const float* x, const float* y, const float* dy, int64_t n,
                                                 float gamma, float mean, float variance, float eps, bool relu,
                                                 float* dx, float* dgamma, float* dbeta) {
  const float rstd = 1.f / std::sqrt(variance + eps);
  auto grad = [&](int64_t i) { return relu && y[i] <= 0.f ? 0.f : dy[i]; };  // through the relu
  const double sum_dy = lane_sum(n, grad);
  const double sum_dy_xhat = lane_sum(n, [&](int64_t i) { return grad(i) * (x[i] - mean); }) * rstd;
  // dx = gamma * rstd * (dy - sum(dy) / n - xhat * sum(dy * xhat) / n)
  const float k = gamma * rstd, mean_dy = float(sum_dy / double(n)), mean_dy_xhat = float(sum_dy_xhat / double(n));
  for (int64_t i = 0; i < n; ++i) dx[i] = k * (grad(i) - mean_dy - (x[i] - mean) * rstd * mean_dy_xhat);
  *dgamma = float(sum_dy_xhat);
  *dbeta = float(sum_dy);
}

}  // namespace graphrun::norm
