#pragma once
// The data gradient of a stride-1, unpadded convolution with few input channels, on
// channels-last (nhwc) tensors: per few images one matrix product, dy [pixels, out_c]
// times the kernel regrouped as [out_c, (kh, kw, in_c)] (oneDNN's sgemm), then each
// output pixel's kh x kw x in_c patch added into dx.
//
// oneDNN 2.6's direct kernel vectorises this pass over input channels, which few channels
// leave mostly empty (conv2d's gemm data gradient, conv2d.hpp).
#include <cstdint>
#include <vector>

namespace graphrun::conv {

struct GemmDataShape {
  int64_t batch = 0, in_c = 0, out_c = 0, in_h = 0, in_w = 0, kernel_h = 0, kernel_w = 0;
};

class GemmDataGradient {
 public:
  GemmDataGradient() = default;
  explicit GemmDataGradient(const GemmDataShape& s);

  // dx [batch, in_h, in_w, in_c] (overwritten) from dy [batch, out_h, out_w, out_c] and
  // w [out_c, in_c, kernel_h, kernel_w].
  void compute(const float* dy, const float* w, float* dx);

 private:
  GemmDataShape s_;
  int64_t out_h_ = 0, out_w_ = 0, patch_ = 0;  // patch_: kernel_h * kernel_w * in_c
  int64_t images_per_chunk_ = 1;
  std::vector<float> weights_;                 // [out_c][kh][kw][in_c]
  std::vector<std::vector<float>> products_;   // per thread: [chunk pixels][patch_]
};

}  // namespace graphrun::conv
