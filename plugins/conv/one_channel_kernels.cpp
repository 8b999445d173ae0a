#include "one_channel_kernels.hpp"

#include "lanes.hpp"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace graphrun::conv {
namespace {

// Outputs o in [lo, hi) whose input index o * stride + k - pad lies inside [0, size).
void valid_range(int64_t size, int64_t out, int64_t k, int64_t stride, int64_t pad, int64_t& lo, int64_t& hi) {
  const int64_t first = pad - k;  // o * stride >= first
  lo = first <= 0 ? 0 : (first + stride - 1) / stride;
  const int64_t last = size - 1 + pad - k;  // o * stride <= last
  hi = last < 0 ? 0 : std::min(out, last / stride + 1);
}

// Stride 1: every L neighbouring inputs of a row are summed in one register, gathering
// from a zero-bordered copy of the output gradient so that no read needs a bounds test.
// (Summing in memory instead chains each multiply-add on the previous store.) The kernels
// are templates over the vector width L (lanes.hpp) and compiled three times.
template <int L, int R>
inline __attribute__((always_inline)) void gradient_rows(const ConvGeometry& g, const float* w, float* x,
                                                         const float* padded, int64_t rows, int64_t cols,
                                                         int64_t iy, int64_t chunk) {
  Lanes<L> acc[R] = {};
  for (int64_t o = 0; o < g.filters; ++o)
    for (int64_t ky = 0; ky < g.kernel_h; ++ky) {
      // input row iy reads output row iy + pad_top - ky, stored at row iy + kernel_h - 1 - ky
      const float* row = padded + (o * rows + iy + g.kernel_h - 1 - ky) * cols + chunk * L + g.kernel_w - 1;
      for (int64_t kx = 0; kx < g.kernel_w; ++kx) {
        const float wv = w[(o * g.kernel_h + ky) * g.kernel_w + kx];
        for (int r = 0; r < R; ++r) {
          Lanes<L> v;
          load<L>(v, row + r * cols - kx);
          acc[r] += wv * v;
        }
      }
    }
  const int64_t width = std::min<int64_t>(L, g.in_w - chunk * L);
  for (int r = 0; r < R; ++r) std::memcpy(x + (iy + r) * g.in_w + chunk * L, &acc[r], size_t(width) * sizeof(float));
}

template <int L>
inline __attribute__((always_inline)) void image_gradient_stride1(const ConvGeometry& g, const float* dz, const float* w, float* x, std::vector<float>& padded) {
  // padded[o][r][c] holds dz[o][r - top][c - left]: rows oy = iy + pad_top - ky for every
  // iy and ky, columns ox = ix + pad_left - kx for every ix (rounded up to whole lanes) and kx.
  const int64_t top = g.kernel_h - 1 - g.pad_top, left = g.kernel_w - 1 - g.pad_left;
  const int64_t rows = g.in_h + g.kernel_h - 1, cols = vectors<kPad>(g.in_w) * kPad + g.kernel_w - 1;
  // The border stays zero: every image writes the same interior.
  if (padded.size() != size_t(g.filters * rows * cols)) padded.assign(size_t(g.filters * rows * cols), 0.f);
  for (int64_t o = 0; o < g.filters; ++o)
    for (int64_t oy = 0; oy < g.out_h; ++oy) {
      const int64_t r = oy + top;
      if (r < 0 || r >= rows) continue;
      const int64_t ox0 = std::max<int64_t>(0, -left), ox1 = std::min(g.out_w, cols - left);
      if (ox1 > ox0)
        std::memcpy(padded.data() + (o * rows + r) * cols + ox0 + left, dz + (o * g.out_h + oy) * g.out_w + ox0,
                    size_t(ox1 - ox0) * sizeof(float));
    }
  for (int64_t chunk = 0; chunk < vectors<L>(g.in_w); ++chunk) {
    int64_t iy = 0;
    for (; iy + 4 <= g.in_h; iy += 4) gradient_rows<L, 4>(g, w, x, padded.data(), rows, cols, iy, chunk);
    for (; iy < g.in_h; ++iy) gradient_rows<L, 1>(g, w, x, padded.data(), rows, cols, iy, chunk);
  }
}

// Any stride: scatter each output gradient into the inputs it read.
void image_gradient_strided(const ConvGeometry& g, const float* dz, const float* w, float* x) {
  std::fill(x, x + g.in_h * g.in_w, 0.f);
  for (int64_t o = 0; o < g.filters; ++o) {
    const float* z = dz + o * g.out_h * g.out_w;
    for (int64_t ky = 0; ky < g.kernel_h; ++ky) {
      int64_t y0, y1;
      valid_range(g.in_h, g.out_h, ky, g.stride_h, g.pad_top, y0, y1);
      for (int64_t kx = 0; kx < g.kernel_w; ++kx) {
        int64_t x0, x1;
        valid_range(g.in_w, g.out_w, kx, g.stride_w, g.pad_left, x0, x1);
        const float wv = w[(o * g.kernel_h + ky) * g.kernel_w + kx];
        for (int64_t oy = y0; oy < y1; ++oy) {
          const float* zr = z + oy * g.out_w;
          float* xr = x + (oy * g.stride_h + ky - g.pad_top) * g.in_w + kx - g.pad_left;
          for (int64_t ox = x0; ox < x1; ++ox) xr[ox * g.stride_w] += wv * zr[ox];
        }
      }
    }
  }
}

// B filters from o on, for one padded image: each input vector is loaded once for all B.
template <int L, int B>
inline __attribute__((always_inline)) void forward_filters(const ConvGeometry& g, const float* xp, int64_t cols,
                                                           const float* w, const float* bias, bool relu, float* z,
                                                           int64_t o) {
  const int64_t area = g.kernel_h * g.kernel_w;
  const Lanes<L> zero = {};
  for (int64_t oy = 0; oy < g.out_h; ++oy)
    for (int64_t chunk = 0; chunk < vectors<L>(g.out_w); ++chunk) {
      Lanes<L> acc[B];
      for (int j = 0; j < B; ++j) acc[j] = zero + (bias ? bias[o + j] : 0.f);
      for (int64_t ky = 0; ky < g.kernel_h; ++ky) {
        const float* row = xp + (oy + ky) * cols + chunk * L;
        const float* wk = w + o * area + ky * g.kernel_w;
        for (int64_t kx = 0; kx < g.kernel_w; ++kx) {
          Lanes<L> v;
          load<L>(v, row + kx);
          for (int j = 0; j < B; ++j) acc[j] += wk[j * area + kx] * v;
        }
      }
      const int64_t width = std::min<int64_t>(L, g.out_w - chunk * L);
      for (int j = 0; j < B; ++j) {
        if (relu) acc[j] = acc[j] > zero ? acc[j] : zero;
        std::memcpy(z + ((o + j) * g.out_h + oy) * g.out_w + chunk * L, &acc[j], size_t(width) * sizeof(float));
      }
    }
}

template <int L>
inline __attribute__((always_inline)) void image_forward(const ConvGeometry& g, const float* xp, int64_t cols,
                                                         const float* w, const float* bias, bool relu, float* z) {
  int64_t o = 0;
  for (; o + 8 <= g.filters; o += 8) forward_filters<L, 8>(g, xp, cols, w, bias, relu, z, o);
  if (o + 4 <= g.filters) forward_filters<L, 4>(g, xp, cols, w, bias, relu, z, o), o += 4;
  if (o + 2 <= g.filters) forward_filters<L, 2>(g, xp, cols, w, bias, relu, z, o), o += 2;
  if (o < g.filters) forward_filters<L, 1>(g, xp, cols, w, bias, relu, z, o);
}

// Adds the gradient of filters o .. o + B - 1, kernel row ky, columns kx0 .. kx0 + K - 1,
// for one image: B * K independent sums; each image vector loaded serves all B filters and
// each output-gradient vector all K columns.
template <int L, int B, int K>
inline __attribute__((always_inline)) void weight_block(const ConvGeometry& g, const float* xp, int64_t cols,
                                                        const float* dzp, int64_t dz_cols, int64_t o, int64_t ky,
                                                        int64_t kx0, float* dw) {
  const int64_t chunks = dz_cols / L;
  Lanes<L> acc[B][K] = {};
  for (int64_t oy = 0; oy < g.out_h; ++oy)
    for (int64_t chunk = 0; chunk < chunks; ++chunk) {
      Lanes<L> v[K];
      const float* row = xp + (oy + ky) * cols + chunk * L + kx0;
      for (int t = 0; t < K; ++t) load<L>(v[t], row + t);
      for (int j = 0; j < B; ++j) {
        Lanes<L> d;
        load<L>(d, dzp + ((o + j) * g.out_h + oy) * dz_cols + chunk * L);
        for (int t = 0; t < K; ++t) acc[j][t] += d * v[t];
      }
    }
  for (int j = 0; j < B; ++j)
    for (int t = 0; t < K; ++t) dw[((o + j) * g.kernel_h + ky) * g.kernel_w + kx0 + t] += sum_lanes<L>(acc[j][t]);
}

// Kernel columns per block: B x K accumulators, K image vectors and one gradient vector
// must fit the registers (32 with AVX-512; 16 with AVX2, where 4 x 5 spills).
template <int L>
constexpr int64_t kWeightColumns = L == 16 ? 5 : 3;

template <int L, int B>
inline __attribute__((always_inline)) void weight_filters(const ConvGeometry& g, const float* xp, int64_t cols,
                                                          const float* dzp, int64_t dz_cols, int64_t o, float* dw) {
  for (int64_t ky = 0; ky < g.kernel_h; ++ky)
    for (int64_t kx0 = 0; kx0 < g.kernel_w; kx0 += kWeightColumns<L>) {
      switch (std::min<int64_t>(kWeightColumns<L>, g.kernel_w - kx0)) {
        case 5: weight_block<L, B, 5>(g, xp, cols, dzp, dz_cols, o, ky, kx0, dw); break;
        case 4: weight_block<L, B, 4>(g, xp, cols, dzp, dz_cols, o, ky, kx0, dw); break;
        case 3: weight_block<L, B, 3>(g, xp, cols, dzp, dz_cols, o, ky, kx0, dw); break;
        case 2: weight_block<L, B, 2>(g, xp, cols, dzp, dz_cols, o, ky, kx0, dw); break;
        default: weight_block<L, B, 1>(g, xp, cols, dzp, dz_cols, o, ky, kx0, dw); break;
      }
    }
}

template <int L>
inline __attribute__((always_inline)) void image_weight_gradient(const ConvGeometry& g, const float* xp, int64_t cols,
                                                                 const float* dzp, int64_t dz_cols, float* dw,
                                                                 float* db) {
  for (int64_t o = 0; o < g.filters; ++o) {
    Lanes<L> sum = {};
    for (int64_t i = 0; i < g.out_h * dz_cols; i += L) {
      Lanes<L> d;
      load<L>(d, dzp + o * g.out_h * dz_cols + i);
      sum += d;
    }
    db[o] += sum_lanes<L>(sum);
  }
  int64_t o = 0;
  for (; o + 4 <= g.filters; o += 4) weight_filters<L, 4>(g, xp, cols, dzp, dz_cols, o, dw);
  if (o + 2 <= g.filters) weight_filters<L, 2>(g, xp, cols, dzp, dz_cols, o, dw), o += 2;
  if (o < g.filters) weight_filters<L, 1>(g, xp, cols, dzp, dz_cols, o, dw);
}

// The three kernels for one instruction set, compiled for it.
struct Kernels {
  void (*gradient)(const ConvGeometry&, const float*, const float*, float*, std::vector<float>&);
  void (*forward)(const ConvGeometry&, const float*, int64_t, const float*, const float*, bool, float*);
  void (*weights)(const ConvGeometry&, const float*, int64_t, const float*, int64_t, float*, float*);
};

#define GRAPHRUN_KERNELS_FOR(isa, target_spec, L)                                                                 \
  __attribute__((target(target_spec))) void gradient_##isa(const ConvGeometry& g, const float* dz, const float* w, \
                                                            float* x, std::vector<float>& padded) {               \
    image_gradient_stride1<L>(g, dz, w, x, padded);                                                                \
  }                                                                                                                \
  __attribute__((target(target_spec))) void forward_##isa(const ConvGeometry& g, const float* xp, int64_t cols,   \
                                                           const float* w, const float* bias, bool relu, float* z) { \
    image_forward<L>(g, xp, cols, w, bias, relu, z);                                                               \
  }                                                                                                                \
  __attribute__((target(target_spec))) void weights_##isa(const ConvGeometry& g, const float* xp, int64_t cols,   \
                                                           const float* dzp, int64_t dz_cols, float* dw, float* db) { \
    image_weight_gradient<L>(g, xp, cols, dzp, dz_cols, dw, db);                                                   \
  }

GRAPHRUN_KERNELS_FOR(avx512, "avx512f,fma", 16)
GRAPHRUN_KERNELS_FOR(avx2, "avx2,fma", 8)
GRAPHRUN_KERNELS_FOR(sse2, "sse2", 4)
#undef GRAPHRUN_KERNELS_FOR

const Kernels& kernels() {
  static const Kernels chosen = native_lanes() == 16  ? Kernels{gradient_avx512, forward_avx512, weights_avx512}
                                : native_lanes() == 8 ? Kernels{gradient_avx2, forward_avx2, weights_avx2}
                                                      : Kernels{gradient_sse2, forward_sse2, weights_sse2};
  return chosen;
}

}  // namespace

int64_t pad_image(const ConvGeometry& g, const float* x, std::vector<float>& xp) {
  const int64_t rows = g.out_h + g.kernel_h - 1, cols = vectors<kPad>(g.out_w) * kPad + g.kernel_w - 1;
  if (xp.size() != size_t(rows * cols)) xp.assign(size_t(rows * cols), 0.f);  // the border stays zero
  const int64_t c0 = std::max<int64_t>(0, g.pad_left), c1 = std::min(cols, g.in_w + g.pad_left);
  for (int64_t r = 0; r < rows && c1 > c0; ++r) {
    const int64_t iy = r - g.pad_top;
    if (iy >= 0 && iy < g.in_h)
      std::memcpy(xp.data() + r * cols + c0, x + iy * g.in_w + (c0 - g.pad_left), size_t(c1 - c0) * sizeof(float));
  }
  return cols;
}

void one_channel_data_gradient(const ConvGeometry& g, const float* dz, const float* w, float* dx, Scratch& s) {
  const int64_t in_area = g.in_h * g.in_w, out_size = g.filters * g.out_h * g.out_w;
  const bool unit_stride = g.stride_h == 1 && g.stride_w == 1;
  s.images.resize(std::max(s.images.size(), size_t(omp_get_max_threads())));
  const Kernels& k = kernels();
#pragma omp parallel
  {
    std::vector<float>& padded = s.images[size_t(omp_get_thread_num())];
#pragma omp for
    for (int64_t n = 0; n < g.batch; ++n) {
      if (unit_stride)
        k.gradient(g, dz + n * out_size, w, dx + n * in_area, padded);
      else
        image_gradient_strided(g, dz + n * out_size, w, dx + n * in_area);
    }
  }
}

bool supports_direct(const ConvGeometry& g) { return g.stride_h == 1 && g.stride_w == 1; }

void one_channel_forward(const ConvGeometry& g, const float* x, const float* w, const float* bias, bool relu,
                            float* z, Scratch& s) {
  const int64_t in_area = g.in_h * g.in_w, out_size = g.filters * g.out_h * g.out_w;
  s.images.resize(std::max(s.images.size(), size_t(omp_get_max_threads())));
  const Kernels& k = kernels();
#pragma omp parallel
  {
    std::vector<float>& xp = s.images[size_t(omp_get_thread_num())];
#pragma omp for schedule(static)
    for (int64_t n = 0; n < g.batch; ++n) {
      const int64_t cols = pad_image(g, x + n * in_area, xp);
      k.forward(g, xp.data(), cols, w, bias, relu, z + n * out_size);
    }
  }
}

void one_channel_weight_gradient(const ConvGeometry& g, const float* x, const float* dz, float* dw, float* db,
                                    Scratch& s) {
  const int64_t in_area = g.in_h * g.in_w, out_area = g.out_h * g.out_w;
  const int64_t weights = g.filters * g.kernel_h * g.kernel_w;
  const int64_t dz_cols = vectors<kPad>(g.out_w) * kPad;
  // Per thread: its images' sums, added up in thread order afterwards (the same result for
  // a given thread count, whatever the timing).
  const size_t threads = size_t(omp_get_max_threads());
  s.images.resize(std::max(s.images.size(), threads));
  s.gradients.resize(std::max(s.gradients.size(), threads));
  s.sums.resize(std::max(s.sums.size(), threads));
  for (auto& sums : s.sums) sums.clear();  // threads that get no image leave theirs empty
  const Kernels& k = kernels();
#pragma omp parallel
  {
    const size_t me = size_t(omp_get_thread_num());
    std::vector<float>& sums = s.sums[me];
    sums.assign(size_t(weights + g.filters), 0.f);
    std::vector<float>& xp = s.images[me];
    std::vector<float>& dzp = s.gradients[me];  // rows padded with zeros to whole vectors
    if (dzp.size() != size_t(g.filters * g.out_h * dz_cols)) dzp.assign(size_t(g.filters * g.out_h * dz_cols), 0.f);
#pragma omp for schedule(static)
    for (int64_t n = 0; n < g.batch; ++n) {
      const float* image_dz = dz + n * g.filters * out_area;
      for (int64_t r = 0; r < g.filters * g.out_h; ++r)  // rows padded to whole vectors with zeros
        std::memcpy(dzp.data() + r * dz_cols, image_dz + r * g.out_w, size_t(g.out_w) * sizeof(float));
      const int64_t cols = pad_image(g, x + n * in_area, xp);
      k.weights(g, xp.data(), cols, dzp.data(), dz_cols, sums.data(), sums.data() + weights);
    }
  }
  std::fill(dw, dw + weights, 0.f);
  if (db) std::fill(db, db + g.filters, 0.f);
  for (const auto& sums : s.sums) {
    if (sums.empty()) continue;
    for (int64_t i = 0; i < weights; ++i) dw[i] += sums[size_t(i)];
    if (db)
      for (int64_t o = 0; o < g.filters; ++o) db[o] += sums[size_t(weights + o)];
  }
}

}  // namespace graphrun::conv
