#pragma once
// Folding a per-channel affine map that follows a convolution into its kernel and bias:
// scale * (w * x + b) + shift = (scale * w) * x + (scale * b + shift), per output channel.
#include <cstdint>
#include <vector>

namespace graphrun::conv {

// kernel: [filters, per_filter] plain; bias: [filters], or nullptr for none. Writes the
// folded copies; throws when scale and shift do not have one entry per filter.
void fold_affine(const float* kernel, const float* bias, const std::vector<float>& scale,
                 const std::vector<float>& shift, int64_t filters, int64_t per_filter, float* folded_kernel,
                 float* folded_bias);

}  // namespace graphrun::conv
