#pragma once
// Train-mode batch normalisation of one-channel images, one use of a tower at a time:
// graphrun's own loops. oneDNN's one-channel kernel (ncsp_bnorm) is plain C++ that splits
// no work over threads.
#include <cstdint>

namespace graphrun::norm {

// y = gamma * (x - mean) / sqrt(var + eps) + beta over n values (relu after, if asked);
// writes the batch mean and the BIASED variance.
void one_channel_forward(const float* x, int64_t n, float gamma, float beta, float eps, bool relu, float* y,
                         float* mean, float* variance);

// dx, and the sums that make gamma's and beta's gradients (sum of dy * xhat, sum of dy),
// from the forward's x, y (for the relu mask), mean and variance.
void one_channel_backward(const float* x, const float* y, const float* dy, int64_t n, float gamma, float mean,
                          float variance, float eps, bool relu, float* dx, float* dgamma, float* dbeta);

}  // namespace graphrun::norm
