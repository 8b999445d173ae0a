#pragma once
// The input gradient of a convolution with ONE input channel, computed directly.
//
// oneDNN 2.6 has no fast kernel for it: every layout measured 280-330 us for R4's first
// layer (batch 16, 1 -> 4 channels, 5x5 on 28x28; 0.9 M multiply-adds, 3 GFLOP/s), the
// largest single cost of an R4 step, because its kernels pad the one channel to a vector
// of 16. Scattering each output gradient row into the input rows it came from runs along
// image rows instead, which vectorise.
#include <cstdint>

namespace graphrun::conv {

struct ConvGeometry {
  int64_t batch, filters, in_h, in_w, out_h, out_w, kernel_h, kernel_w;
  int64_t stride_h, stride_w, pad_top, pad_left;
};

// dx[n][iy][ix] = sum over o, ky, kx of dz[n][o][oy][ox] * w[o][0][ky][kx], where
// iy = oy * stride_h + ky - pad_top and ix = ox * stride_w + kx - pad_left.
// dz is [batch, filters, out_h, out_w] and dx [batch, 1, in_h, in_w], both row-major; w is
// [filters, 1, kernel_h, kernel_w]. dx is overwritten.
void single_channel_data_gradient(const ConvGeometry& g, const float* dz, const float* w, float* dx);

}  // namespace graphrun::conv
