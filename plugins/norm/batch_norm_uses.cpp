// batch_norm of one-channel images in train mode (batch_norm.hpp): each stacked use of the
// tower normalised apart by graphrun's loops (one_channel.hpp), the uses split over threads.
#include "batch_norm.hpp"

namespace graphrun::norm {

// One-channel images, train mode: each use's values are contiguous (use-major batch).
void BatchNorm::forward_one_channel() {
  const int64_t n = in(0).desc().get_size() / int64_t(sizeof(float)) / groups_;
  auto* means = static_cast<float*>(batch_means_[0].get_data_handle());
  auto* vars = static_cast<float*>(batch_vars_[0].get_data_handle());
  const float g = gamma(), b = beta(), eps = float(epsilon_);
  const float* x = in(0).data();
  float* y = out().data();
#pragma omp parallel for schedule(static)
  for (int64_t u = 0; u < groups_; ++u)
    one_channel_forward(x + u * n, n, g, b, eps, relu_, y + u * n, means + u, vars + u);
}

void BatchNorm::backward_one_channel() {
  const int64_t n = in(0).desc().get_size() / int64_t(sizeof(float)) / groups_;
  const auto* means = static_cast<const float*>(batch_means_[0].get_data_handle());
  const auto* vars = static_cast<const float*>(batch_vars_[0].get_data_handle());
  const float g = gamma(), eps = float(epsilon_);
  float* dx = in_grad(0) ? in_grad(0)->data() : static_cast<float*>(scratch_diff_src_.get_data_handle());
  use_grads_.resize(size_t(2 * groups_));
#pragma omp parallel for schedule(static)
  for (int64_t u = 0; u < groups_; ++u)
    one_channel_backward(in(0).data() + u * n, out().data() + u * n, out_grad().data() + u * n, n, g, means[u],
                         vars[u], eps, relu_, dx + u * n, &use_grads_[size_t(2 * u)], &use_grads_[size_t(2 * u + 1)]);
  for (auto& [arg, target] : param_grads_) {  // summed over the uses, in use order
    float total = 0;
    for (int64_t u = 0; u < groups_; ++u) total += use_grads_[size_t(2 * u + (arg == DNNL_ARG_DIFF_SHIFT ? 1 : 0))];
    static_cast<float*>(target.get_data_handle())[0] = total;
  }
}

}  // namespace graphrun::norm
