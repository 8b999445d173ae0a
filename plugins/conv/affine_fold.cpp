#include "affine_fold.hpp"

#include <graphrun/error.hpp>

#include <string>

namespace graphrun::conv {

void fold_affine(const float* kernel, const float* bias, const std::vector<float>& scale,
                 const std::vector<float>& shift, int64_t filters, int64_t per_filter, float* folded_kernel,
                 float* folded_bias) {
  if (int64_t(scale.size()) != filters || int64_t(shift.size()) != filters)
    throw Error("conv2d: the folded channel map has " + std::to_string(scale.size()) + " channels, not " +
                std::to_string(filters));
  for (int64_t o = 0; o < filters; ++o) {
    const float s = scale[size_t(o)];
    for (int64_t k = 0; k < per_filter; ++k) folded_kernel[o * per_filter + k] = s * kernel[o * per_filter + k];
    folded_bias[o] = s * (bias ? bias[o] : 0.f) + shift[size_t(o)];
  }
}

}  // namespace graphrun::conv
