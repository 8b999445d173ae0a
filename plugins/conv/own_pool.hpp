#pragma once
// Max and average pooling computed directly, in the producer's layout.
//
// oneDNN 2.6's pooling is far slower than a plain loop on an AVX2 machine, with or
// without its workspace, and on plain nchw planes it runs a generic kernel
// (tools/bench/README.md has the figures). These kernels read the tensor as [outer][height][width][inner]:
// nchw is [n * c][h][w][1], nhwc [n][h][w][c], nChw8c / nChw16c [n * c / b][h][w][b], so
// the inner loop runs over contiguous floats. Windows clipped by same padding use only the
// pixels inside the image (TensorFlow's pooling, oneDNN's exclude_padding).
#include <cstdint>

namespace graphrun::conv {

struct PoolGeometry {
  int64_t outer, inner;
  int64_t in_h, in_w, out_h, out_w, pool_h, pool_w, stride_h, stride_w, pad_top, pad_left;
};

// y = the mean of each window; dx = each window's dy spread evenly over its pixels.
void avg_pool_forward(const PoolGeometry& g, const float* x, float* y);
void avg_pool_backward(const PoolGeometry& g, const float* dy, float* dx);

// y = the maximum of each window; dx = each window's dy at the first pixel (in row order)
// that equals its maximum, from the forward's x and y.
void max_pool_forward(const PoolGeometry& g, const float* x, float* y);
void max_pool_backward(const PoolGeometry& g, const float* x, const float* y, const float* dy, float* dx);

}  // namespace graphrun::conv
