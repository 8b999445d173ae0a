#include "single_channel_gradient.hpp"

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

// Stride 1: every 16 neighbouring inputs of a row are summed in one register, gathering
// from a zero-bordered copy of the output gradient so that no read needs a bounds test.
// (Summing in memory instead chains each multiply-add on the previous store.) Compiled
// for AVX-512, AVX2 and baseline; the loader picks what the machine has.
constexpr int64_t kLanes = 16;
typedef float Lanes __attribute__((vector_size(kLanes * sizeof(float))));  // GCC/Clang vectors

__attribute__((target_clones("avx512f", "avx2", "default")))
void image_gradient_stride1(const ConvGeometry& g, const float* dz, const float* w, float* x, std::vector<float>& padded) {
  // padded[o][r][c] holds dz[o][r - top][c - left]: rows oy = iy + pad_top - ky for every
  // iy and ky, columns ox = ix + pad_left - kx for every ix (rounded up to whole lanes) and kx.
  const int64_t top = g.kernel_h - 1 - g.pad_top, left = g.kernel_w - 1 - g.pad_left;
  const int64_t chunks = (g.in_w + kLanes - 1) / kLanes;
  const int64_t rows = g.in_h + g.kernel_h - 1, cols = chunks * kLanes + g.kernel_w - 1;
  padded.assign(size_t(g.filters * rows * cols), 0.f);
  for (int64_t o = 0; o < g.filters; ++o)
    for (int64_t oy = 0; oy < g.out_h; ++oy) {
      const int64_t r = oy + top;
      if (r < 0 || r >= rows) continue;
      for (int64_t ox = 0; ox < g.out_w; ++ox) {
        const int64_t c = ox + left;
        if (c >= 0 && c < cols) padded[size_t((o * rows + r) * cols + c)] = dz[(o * g.out_h + oy) * g.out_w + ox];
      }
    }
  for (int64_t iy = 0; iy < g.in_h; ++iy)
    for (int64_t chunk = 0; chunk < chunks; ++chunk) {
      Lanes acc = {};
      for (int64_t o = 0; o < g.filters; ++o)
        for (int64_t ky = 0; ky < g.kernel_h; ++ky) {
          // input row iy reads output row iy + pad_top - ky, stored at row iy + kernel_h - 1 - ky
          const float* row = padded.data() + (o * rows + iy + g.kernel_h - 1 - ky) * cols + chunk * kLanes;
          for (int64_t kx = 0; kx < g.kernel_w; ++kx) {
            const float wv = w[(o * g.kernel_h + ky) * g.kernel_w + kx];
            Lanes v;
            std::memcpy(&v, row + g.kernel_w - 1 - kx, sizeof v);
            acc += wv * v;
          }
        }
      const int64_t width = std::min(kLanes, g.in_w - chunk * kLanes);
      std::memcpy(x + iy * g.in_w + chunk * kLanes, &acc, size_t(width) * sizeof(float));
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

}  // namespace

void single_channel_data_gradient(const ConvGeometry& g, const float* dz, const float* w, float* dx) {
  const int64_t in_area = g.in_h * g.in_w, out_size = g.filters * g.out_h * g.out_w;
  const bool unit_stride = g.stride_h == 1 && g.stride_w == 1;
#pragma omp parallel
  {
    std::vector<float> padded;  // per thread
#pragma omp for
    for (int64_t n = 0; n < g.batch; ++n) {
      if (unit_stride)
        image_gradient_stride1(g, dz + n * out_size, w, dx + n * in_area, padded);
      else
        image_gradient_strided(g, dz + n * out_size, w, dx + n * in_area);
    }
  }
}

}  // namespace graphrun::conv
