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

// 2x2 windows at stride 2 without padding (R4's pools): straight-line code the compiler
// vectorises, 5x faster than the general loops below.
bool is_2x2(const PoolGeometry& g) {
  return g.pool_h == 2 && g.pool_w == 2 && g.stride_h == 2 && g.stride_w == 2 && g.pad_top == 0 && g.pad_left == 0 &&
         2 * g.out_h <= g.in_h && 2 * g.out_w <= g.in_w;
}

void forward_2x2(const PoolGeometry& g, const float* xp, float* yp) {
  for (int64_t oy = 0; oy < g.out_h; ++oy) {
    const float* r0 = xp + 2 * oy * g.in_w;
    const float* r1 = r0 + g.in_w;
    float* out = yp + oy * g.out_w;
    for (int64_t ox = 0; ox < g.out_w; ++ox)
      out[ox] = 0.25f * ((r0[2 * ox] + r0[2 * ox + 1]) + (r1[2 * ox] + r1[2 * ox + 1]));
  }
}

void backward_2x2(const PoolGeometry& g, const float* dyp, float* dxp) {
  // valid pooling leaves an odd last row or column out of every window
  if (g.in_h != 2 * g.out_h || g.in_w != 2 * g.out_w) std::fill(dxp, dxp + g.in_h * g.in_w, 0.f);
  for (int64_t oy = 0; oy < g.out_h; ++oy) {
    float* r0 = dxp + 2 * oy * g.in_w;
    float* r1 = r0 + g.in_w;
    const float* d = dyp + oy * g.out_w;
    for (int64_t ox = 0; ox < g.out_w; ++ox) {
      const float share = 0.25f * d[ox];
      r0[2 * ox] = r0[2 * ox + 1] = r1[2 * ox] = r1[2 * ox + 1] = share;
    }
  }
}

}  // namespace

void plain_avg_pool_forward(const PoolGeometry& g, const float* x, float* y) {
  const int64_t in_area = g.in_h * g.in_w, out_area = g.out_h * g.out_w;
  const bool fast = is_2x2(g);
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < g.planes; ++p) {
    const float* xp = x + p * in_area;
    float* yp = y + p * out_area;
    if (fast) {
      forward_2x2(g, xp, yp);
      continue;
    }
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
  const bool fast = is_2x2(g);
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < g.planes; ++p) {
    const float* dyp = dy + p * out_area;
    float* dxp = dx + p * in_area;
    if (fast) {
      backward_2x2(g, dyp, dxp);
      continue;
    }
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
