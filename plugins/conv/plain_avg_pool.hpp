#pragma once
// Average pooling over plain nchw planes, computed directly.
//
// oneDNN 2.6 on AVX2 machines has no jit pooling for nchw: its generic "simple_nchw"
// kernel measured 630 us forward and 360 us backward for R4's first pool (32 x 4 planes
// of 24x24, 2x2 windows; 1 thread), a third of an R4 step, while a plane at a time takes
// a few microseconds. Windows clipped by same padding average the pixels inside the image
// (TensorFlow's AveragePooling2D, oneDNN's exclude_padding).
#include <cstdint>

namespace graphrun::conv {

struct PoolGeometry {
  int64_t planes;  // batch * channels
  int64_t in_h, in_w, out_h, out_w, pool_h, pool_w, stride_h, stride_w, pad_top, pad_left;
};

// y[p][oy][ox] = mean of x[p] over the window of (oy, ox) inside the image. y is overwritten.
void plain_avg_pool_forward(const PoolGeometry& g, const float* x, float* y);

// dx = each window's dy spread evenly over the pixels it averaged. dx is overwritten.
void plain_avg_pool_backward(const PoolGeometry& g, const float* dy, float* dx);

}  // namespace graphrun::conv
