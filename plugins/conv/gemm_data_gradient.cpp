#include "gemm_data_gradient.hpp"

#include <graphrun/error.hpp>

#include <dnnl.h>
#include <omp.h>

#include <algorithm>
#include <cstring>

namespace graphrun::conv {

// Rows per matrix product (whole images): enough for sgemm, few enough for the cache.
constexpr int64_t kChunkPixels = 512;

GemmDataGradient::GemmDataGradient(const GemmDataShape& s)
    : s_(s),
      out_h_(s.in_h - s.kernel_h + 1),
      out_w_(s.in_w - s.kernel_w + 1),
      patch_(s.kernel_h * s.kernel_w * s.in_c),
      weights_(size_t(s.out_c * patch_)) {
  images_per_chunk_ = std::clamp<int64_t>(kChunkPixels / std::max<int64_t>(out_h_ * out_w_, 1), 1, std::max<int64_t>(s.batch, 1));
}

void GemmDataGradient::compute(const float* dy, const float* w, float* dx) {
  const int64_t taps = s_.kernel_h * s_.kernel_w, ic = s_.in_c, oc = s_.out_c;
  for (int64_t o = 0; o < oc; ++o)
    for (int64_t c = 0; c < ic; ++c)
      for (int64_t t = 0; t < taps; ++t) weights_[size_t(o * patch_ + t * ic + c)] = w[(o * ic + c) * taps + t];
  const int64_t pixels = out_h_ * out_w_, in_image = s_.in_h * s_.in_w * ic, row = s_.kernel_w * ic;
  const int64_t chunks = (s_.batch + images_per_chunk_ - 1) / images_per_chunk_;
  products_.resize(std::max(products_.size(), size_t(omp_get_max_threads())));
  for (auto& p : products_) p.resize(size_t(images_per_chunk_ * pixels * patch_));
  bool failed = false;
#pragma omp parallel for schedule(static) reduction(|| : failed)
  for (int64_t chunk = 0; chunk < chunks; ++chunk) {
    float* product = products_[size_t(omp_get_thread_num())].data();
    const int64_t n0 = chunk * images_per_chunk_, n = std::min(images_per_chunk_, s_.batch - n0);
    failed = dnnl_sgemm('N', 'N', n * pixels, patch_, oc, 1.f, dy + n0 * pixels * oc, oc, weights_.data(), patch_, 0.f,
                        product, patch_) != dnnl_success ||
             failed;
    for (int64_t i = 0; i < n; ++i) {
      float* image = dx + (n0 + i) * in_image;
      std::memset(image, 0, size_t(in_image) * sizeof(float));
      for (int64_t oy = 0; oy < out_h_; ++oy)
        for (int64_t ox = 0; ox < out_w_; ++ox) {
          const float* p = product + ((i * out_h_ + oy) * out_w_ + ox) * patch_;
          // One kernel row of the patch is kernel_w * in_c floats, contiguous in dx too.
          for (int64_t ky = 0; ky < s_.kernel_h; ++ky) {
            float* d = image + ((oy + ky) * s_.in_w + ox) * ic;
            const float* q = p + ky * row;
#pragma omp simd
            for (int64_t j = 0; j < row; ++j) d[j] += q[j];
          }
        }
    }
  }
  if (failed) throw Error("conv2d: oneDNN's sgemm failed in the data gradient");
}

}  // namespace graphrun::conv
