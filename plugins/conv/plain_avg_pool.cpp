#include "plain_avg_pool.hpp"

#include <algorithm>

namespace graphrun::conv {
namespace {

// The window of output index o along one axis, clipped to [0, size).
struct Span {
  int64_t lo, hi;
};

inline Span span(int64_t o, int64_t stride, int64_t pad, int64_t pool, int64_t size) {
  const int64_t start = o * stride - pad;
  return {std::max<int64_t>(start, 0), std::min(start + pool, size)};
}

}  // namespace

void plain_avg_pool_forward(const PoolGeometry& g, const float* x, float* y) {
  const int64_t in_area = g.in_h * g.in_w, out_area = g.out_h * g.out_w;
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < g.planes; ++p) {
    const float* xp = x + p * in_area;
    float* yp = y + p * out_area;
    for (int64_t oy = 0; oy < g.out_h; ++oy) {
      const Span rows = span(oy, g.stride_h, g.pad_top, g.pool_h, g.in_h);
      for (int64_t ox = 0; ox < g.out_w; ++ox) {
        const Span cols = span(ox, g.stride_w, g.pad_left, g.pool_w, g.in_w);
        float sum = 0.f;
        for (int64_t iy = rows.lo; iy < rows.hi; ++iy)
          for (int64_t ix = cols.lo; ix < cols.hi; ++ix) sum += xp[iy * g.in_w + ix];
        const int64_t count = (rows.hi - rows.lo) * (cols.hi - cols.lo);
        yp[oy * g.out_w + ox] = count > 0 ? sum / float(count) : 0.f;
      }
    }
  }
}

void plain_avg_pool_backward(const PoolGeometry& g, const float* dy, float* dx) {
  const int64_t in_area = g.in_h * g.in_w, out_area = g.out_h * g.out_w;
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < g.planes; ++p) {
    const float* dyp = dy + p * out_area;
    float* dxp = dx + p * in_area;
    std::fill(dxp, dxp + in_area, 0.f);
    for (int64_t oy = 0; oy < g.out_h; ++oy) {
      const Span rows = span(oy, g.stride_h, g.pad_top, g.pool_h, g.in_h);
      for (int64_t ox = 0; ox < g.out_w; ++ox) {
        const Span cols = span(ox, g.stride_w, g.pad_left, g.pool_w, g.in_w);
        const int64_t count = (rows.hi - rows.lo) * (cols.hi - cols.lo);
        if (count == 0) continue;
        const float share = dyp[oy * g.out_w + ox] / float(count);
        for (int64_t iy = rows.lo; iy < rows.hi; ++iy)
          for (int64_t ix = cols.lo; ix < cols.hi; ++ix) dxp[iy * g.in_w + ix] += share;
      }
    }
  }
}

}  // namespace graphrun::conv
