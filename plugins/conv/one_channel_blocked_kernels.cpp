// One input channel and many filters (R1's first layer, 1 -> 32 3x3), written
// channel-blocked: nChw8c on AVX2, nChw16c on AVX-512, one vector register of filters per
// pixel. That is the layout oneDNN's batch norm after it runs fastest on, but oneDNN 2.6
// writes it for such a layer only with a reference weight gradient, and its nhwc kernels
// leave their vectors mostly empty (tools/bench/README.md).
#include "lanes.hpp"
#include "one_channel_kernels.hpp"

#include <omp.h>

#include <algorithm>
#include <vector>

namespace graphrun::conv {
namespace {

constexpr int kSize = 3;  // the kernel these are compiled for: 3x3
constexpr int kArea = kSize * kSize;

// Weights regrouped per block of L filters: wb[block][tap][lane].
void block_weights(const ConvGeometry& g, int64_t lanes, const float* w, std::vector<float>& wb) {
  wb.resize(size_t(g.filters * kArea));
  for (int64_t o = 0; o < g.filters; ++o)
    for (int64_t t = 0; t < kArea; ++t) wb[size_t(((o / lanes) * kArea + t) * lanes + o % lanes)] = w[o * kArea + t];
}

// P neighbouring pixels of one output row, all filters of a block: every tap is one
// multiply-add of a broadcast input by the block's weight vector.
template <int L, int P>
inline __attribute__((always_inline)) void forward_pixels(const float* xp, int64_t cols, const Lanes<L> (&w)[kArea],
                                                          const Lanes<L>& bias, bool relu, float* z) {
  Lanes<L> acc[P];
  for (int p = 0; p < P; ++p) acc[p] = bias;
  for (int ky = 0; ky < kSize; ++ky)
    for (int kx = 0; kx < kSize; ++kx)
      for (int p = 0; p < P; ++p) acc[p] += xp[ky * cols + kx + p] * w[ky * kSize + kx];
  const Lanes<L> zero = {};
  for (int p = 0; p < P; ++p) store<L>(z + p * L, relu ? (acc[p] > zero ? acc[p] : zero) : acc[p]);
}

template <int L>
inline __attribute__((always_inline)) void image_forward(const ConvGeometry& g, const float* xp, int64_t cols,
                                                         const float* wb, const float* bias, bool relu, float* z) {
  const int64_t plane = g.out_h * g.out_w * L;
  for (int64_t b = 0; b < g.filters / L; ++b) {
    Lanes<L> w[kArea], bv = {};
    for (int t = 0; t < kArea; ++t) load<L>(w[t], wb + (b * kArea + t) * L);
    if (bias) load<L>(bv, bias + b * L);
    for (int64_t oy = 0; oy < g.out_h; ++oy) {
      float* row = z + b * plane + oy * g.out_w * L;
      const float* in = xp + oy * cols;
      int64_t ox = 0;
      for (; ox + 4 <= g.out_w; ox += 4) forward_pixels<L, 4>(in + ox, cols, w, bv, relu, row + ox * L);
      for (; ox < g.out_w; ++ox) forward_pixels<L, 1>(in + ox, cols, w, bv, relu, row + ox * L);
    }
  }
}

// Q neighbouring pooled pixels of one pooled row: the 2x2 conv outputs under each (4Q
// accumulators), their max, then bias and relu, which commute with the max.
template <int L, int Q>
inline __attribute__((always_inline)) void pooled_pixels(const float* xp, int64_t cols, const Lanes<L> (&w)[kArea],
                                                         const Lanes<L>& bias, bool relu, float* z) {
  Lanes<L> acc[2][2 * Q] = {};
  for (int ky = 0; ky < kSize; ++ky)
    for (int kx = 0; kx < kSize; ++kx)
      for (int r = 0; r < 2; ++r)
        for (int p = 0; p < 2 * Q; ++p) acc[r][p] += xp[(r + ky) * cols + kx + p] * w[ky * kSize + kx];
  const Lanes<L> zero = {};
  for (int q = 0; q < Q; ++q) {
    const Lanes<L> a = acc[0][2 * q] > acc[0][2 * q + 1] ? acc[0][2 * q] : acc[0][2 * q + 1];
    const Lanes<L> b = acc[1][2 * q] > acc[1][2 * q + 1] ? acc[1][2 * q] : acc[1][2 * q + 1];
    const Lanes<L> m = (a > b ? a : b) + bias;
    store<L>(z + q * L, relu ? (m > zero ? m : zero) : m);
  }
}

// image_forward followed by a 2x2 max pool of stride 2 (rows and columns past the last
// whole window dropped), in one pass: the full-size map never goes to memory.
template <int L>
inline __attribute__((always_inline)) void image_forward_pooled(const ConvGeometry& g, const float* xp, int64_t cols,
                                                                const float* wb, const float* bias, bool relu,
                                                                float* z) {
  const int64_t ph = g.out_h / 2, pw = g.out_w / 2, plane = ph * pw * L;
  for (int64_t b = 0; b < g.filters / L; ++b) {
    Lanes<L> w[kArea], bv = {};
    for (int t = 0; t < kArea; ++t) load<L>(w[t], wb + (b * kArea + t) * L);
    if (bias) load<L>(bv, bias + b * L);
    for (int64_t py = 0; py < ph; ++py) {
      float* row = z + b * plane + py * pw * L;
      const float* in = xp + 2 * py * cols;
      int64_t px = 0;
      for (; px + 2 <= pw; px += 2) pooled_pixels<L, 2>(in + 2 * px, cols, w, bv, relu, row + px * L);
      for (; px < pw; ++px) pooled_pixels<L, 1>(in + 2 * px, cols, w, bv, relu, row + px * L);
    }
  }
}

// sums[block][tap][lane] += the weight gradient of one image, sums[block][kArea][lane] the
// bias gradient: nine independent accumulators, one output-gradient vector per pixel.
template <int L>
inline __attribute__((always_inline)) void image_weights(const ConvGeometry& g, const float* xp, int64_t cols,
                                                         const float* dz, float* sums) {
  const int64_t plane = g.out_h * g.out_w * L;
  for (int64_t b = 0; b < g.filters / L; ++b) {
    Lanes<L> acc[kArea] = {}, db = {};
    const float* d = dz + b * plane;
    for (int64_t oy = 0; oy < g.out_h; ++oy)
      for (int64_t ox = 0; ox < g.out_w; ++ox) {
        Lanes<L> dv;
        load<L>(dv, d + (oy * g.out_w + ox) * L);
        db += dv;
        const float* in = xp + oy * cols + ox;
        for (int ky = 0; ky < kSize; ++ky)
          for (int kx = 0; kx < kSize; ++kx) acc[ky * kSize + kx] += dv * in[ky * cols + kx];
      }
    float* out = sums + b * (kArea + 1) * L;
    for (int t = 0; t <= kArea; ++t) {
      Lanes<L> s;
      load<L>(s, out + t * L);
      store<L>(out + t * L, s + (t < kArea ? acc[t] : db));
    }
  }
}

struct Kernels {
  int64_t lanes = 0;  // 0: none for this machine
  using Forward = void (*)(const ConvGeometry&, const float*, int64_t, const float*, const float*, bool, float*);
  Forward forward = nullptr, forward_pooled = nullptr;
  void (*weights)(const ConvGeometry&, const float*, int64_t, const float*, float*) = nullptr;
};

#define GRAPHRUN_BLOCKED_KERNELS_FOR(isa, target_spec, L)                                                        \
  __attribute__((target(target_spec))) void forward_##isa(const ConvGeometry& g, const float* xp, int64_t cols,  \
                                                           const float* wb, const float* bias, bool relu,        \
                                                           float* z) {                                           \
    image_forward<L>(g, xp, cols, wb, bias, relu, z);                                                             \
  }                                                                                                               \
  __attribute__((target(target_spec))) void forward_pooled_##isa(const ConvGeometry& g, const float* xp,          \
                                                                  int64_t cols, const float* wb, const float* bias,\
                                                                  bool relu, float* z) {                          \
    image_forward_pooled<L>(g, xp, cols, wb, bias, relu, z);                                                      \
  }                                                                                                               \
  __attribute__((target(target_spec))) void weights_##isa(const ConvGeometry& g, const float* xp, int64_t cols,  \
                                                           const float* dz, float* sums) {                       \
    image_weights<L>(g, xp, cols, dz, sums);                                                                      \
  }

GRAPHRUN_BLOCKED_KERNELS_FOR(avx512, "avx512f,fma", 16)
GRAPHRUN_BLOCKED_KERNELS_FOR(avx2, "avx2,fma", 8)
#undef GRAPHRUN_BLOCKED_KERNELS_FOR

// The blocks oneDNN uses on this machine: 16 channels with AVX-512, 8 with AVX2.
const Kernels& kernels() {
  static const Kernels chosen = native_lanes() == 16  ? Kernels{16, forward_avx512, forward_pooled_avx512, weights_avx512}
                                : native_lanes() == 8 ? Kernels{8, forward_avx2, forward_pooled_avx2, weights_avx2}
                                                      : Kernels{};
  return chosen;
}

}  // namespace

int64_t blocked_filters(const ConvGeometry& g) {
  const int64_t lanes = kernels().lanes;
  const bool fits = lanes > 0 && g.filters % lanes == 0 && g.kernel_h == kSize && g.kernel_w == kSize &&
                    supports_direct(g);
  return fits ? lanes : 0;
}

void one_channel_blocked_forward(const ConvGeometry& g, const float* x, const float* w, const float* bias,
                                    bool relu, float* z, Scratch& s, bool max_pool_2x2) {
  const Kernels& k = kernels();
  const Kernels::Forward forward = max_pool_2x2 ? k.forward_pooled : k.forward;
  const int64_t in_area = g.in_h * g.in_w;
  const int64_t out_size = max_pool_2x2 ? g.filters * (g.out_h / 2) * (g.out_w / 2) : g.filters * g.out_h * g.out_w;
  block_weights(g, k.lanes, w, s.weights);
  s.images.resize(std::max(s.images.size(), size_t(omp_get_max_threads())));
#pragma omp parallel
  {
    std::vector<float>& xp = s.images[size_t(omp_get_thread_num())];
#pragma omp for schedule(static)
    for (int64_t n = 0; n < g.batch; ++n) {
      const int64_t cols = pad_image(g, x + n * in_area, xp);
      forward(g, xp.data(), cols, s.weights.data(), bias, relu, z + n * out_size);
    }
  }
}

void one_channel_blocked_weight_gradient(const ConvGeometry& g, const float* x, const float* dz, float* dw,
                                            float* db, Scratch& s) {
  const Kernels& k = kernels();
  const int64_t in_area = g.in_h * g.in_w, out_size = g.filters * g.out_h * g.out_w;
  const int64_t blocks = g.filters / k.lanes, per_block = (kArea + 1) * k.lanes;
  // Per thread: its images' sums, added up in thread order afterwards.
  const size_t threads = size_t(omp_get_max_threads());
  s.images.resize(std::max(s.images.size(), threads));
  s.sums.resize(std::max(s.sums.size(), threads));
  for (auto& sums : s.sums) sums.assign(size_t(blocks * per_block), 0.f);
#pragma omp parallel
  {
    const size_t me = size_t(omp_get_thread_num());
    std::vector<float>& xp = s.images[me];
#pragma omp for schedule(static)
    for (int64_t n = 0; n < g.batch; ++n) {
      const int64_t cols = pad_image(g, x + n * in_area, xp);
      k.weights(g, xp.data(), cols, dz + n * out_size, s.sums[me].data());
    }
  }
  for (int64_t o = 0; o < g.filters; ++o) {
    const int64_t at = (o / k.lanes) * per_block + o % k.lanes;
    for (int64_t t = 0; t <= kArea; ++t) {
      float sum = 0;
      for (const auto& sums : s.sums) sum += sums[size_t(at + t * k.lanes)];
      if (t < kArea)
        dw[o * kArea + t] = sum;
      else if (db)
        db[o] = sum;
    }
  }
}

}  // namespace graphrun::conv
