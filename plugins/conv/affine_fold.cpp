#include "affine_fold.hpp"

#include <graphrun/error.hpp>

#include <string>

namespace graphrun::conv {

void fold_affine(const float* kernel, const float* bias, const ChannelAffine& map, int64_t filters,
                 int64_t per_filter, float* folded_kernel, float* folded_bias) {
  if (int64_t(map.scale.size()) != filters || int64_t(map.shift.size()) != filters)
    throw Error("conv2d: the folded channel map has " + std::to_string(map.scale.size()) + " channels, not " +
                std::to_string(filters));
  for (int64_t o = 0; o < filters; ++o) {
    const float s = map.scale[size_t(o)];
    for (int64_t k = 0; k < per_filter; ++k) folded_kernel[o * per_filter + k] = s * kernel[o * per_filter + k];
    folded_bias[o] = s * (bias ? bias[o] : 0.f) + map.shift[size_t(o)];
  }
}

}  // namespace graphrun::conv
