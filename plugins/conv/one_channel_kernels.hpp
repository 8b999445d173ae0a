#pragma once
// graphrun's kernels for convolutions with ONE input channel, computed directly (conv2d's
// one_channel and one_channel_blocked implementations, conv2d.hpp).
//
// oneDNN 2.6 has no fast kernel for them: its kernels vectorise over channels, padding the
// one input channel (and few filters) to a whole vector. These run along image rows
// instead, a vector register of pixels at a time (tools/bench/README.md has the figures). Tensors are row-major: x [batch, 1, in_h, in_w],
// z/dz [batch, filters, out_h, out_w], w [filters, 1, kernel_h, kernel_w].
#include <cstdint>
#include <vector>

namespace graphrun::conv {

// Per-thread buffers the kernels keep between calls (zero-bordered image copies, partial
// sums), so that a step allocates nothing. One per node and pass.
struct Scratch {
  std::vector<std::vector<float>> images, gradients, sums;
  std::vector<float> weights;  // regrouped for the kernels
};

struct ConvGeometry {
  int64_t batch, filters, in_h, in_w, out_h, out_w, kernel_h, kernel_w;
  int64_t stride_h, stride_w, pad_top, pad_left;
};

// dx[n][iy][ix] = sum over o, ky, kx of dz[n][o][oy][ox] * w[o][0][ky][kx], where
// iy = oy * stride_h + ky - pad_top and ix = ox * stride_w + kx - pad_left.
// dz is [batch, filters, out_h, out_w] and dx [batch, 1, in_h, in_w], both row-major; w is
// [filters, 1, kernel_h, kernel_w]. dx is overwritten.
void one_channel_data_gradient(const ConvGeometry& g, const float* dz, const float* w, float* dx, Scratch& s);

// Zero-bordered copy of one image for stride-1 windows: xp[r][c] = x[r - pad_top][c -
// pad_left], with the rows and columns that whole-vector (kPad) output rows read. Returns
// the row length.
int64_t pad_image(const ConvGeometry& g, const float* x, std::vector<float>& xp);

// Stride 1 only (supports_direct). z = conv(x, w) + bias (bias may be nullptr), then
// max(z, 0) when relu is set. z is overwritten.
bool supports_direct(const ConvGeometry& g);
void one_channel_forward(const ConvGeometry& g, const float* x, const float* w, const float* bias, bool relu,
                            float* z, Scratch& s);
// dw (and db unless nullptr) = the gradients of the weights and bias, summed over the
// batch; both are overwritten.
void one_channel_weight_gradient(const ConvGeometry& g, const float* x, const float* dz, float* dw, float* db,
                                    Scratch& s);

// Many filters, written channel-blocked (one_channel_blocked_kernels.cpp): z is [batch,
// filters / L, out_h, out_w, L] for the L that blocked_filters returns (8 with AVX2, 16
// with AVX-512), or 0 where these kernels do not apply (3x3 kernels at stride 1, filters a
// multiple of L). Otherwise as one_channel_forward and one_channel_weight_gradient.
// With max_pool_2x2, forward writes the 2x2 max pool (stride 2) of the map instead:
// z is [batch, filters / L, out_h / 2, out_w / 2, L].
int64_t blocked_filters(const ConvGeometry& g);
void one_channel_blocked_forward(const ConvGeometry& g, const float* x, const float* w, const float* bias,
                                    bool relu, float* z, Scratch& s, bool max_pool_2x2 = false);
void one_channel_blocked_weight_gradient(const ConvGeometry& g, const float* x, const float* dz, float* dw,
                                            float* db, Scratch& s);

}  // namespace graphrun::conv
