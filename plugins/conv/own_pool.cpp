#include "own_pool.hpp"

#include <algorithm>
#include <limits>
#include <type_traits>
#include <vector>

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

int64_t in_size(const PoolGeometry& g) { return g.in_h * g.in_w * g.inner; }
int64_t out_size(const PoolGeometry& g) { return g.out_h * g.out_w * g.inner; }

// Calls visit(at, rows, cols) for every output pixel of a slice: `at` is its offset in the
// output, rows and cols its window inside the image.
template <class Visit>
inline void for_each_window(const PoolGeometry& g, Visit visit) {
  for (int64_t oy = 0; oy < g.out_h; ++oy) {
    const Span rows = span(oy, g.stride_h, g.pad_top, g.pool_h, g.in_h);
    for (int64_t ox = 0; ox < g.out_w; ++ox)
      visit((oy * g.out_w + ox) * g.inner, rows, span(ox, g.stride_w, g.pad_left, g.pool_w, g.in_w));
  }
}

// Calls visit(at) with the input offset of every pixel of a window, in row order.
template <class Visit>
inline void for_each_pixel(const PoolGeometry& g, Span rows, Span cols, Visit visit) {
  for (int64_t iy = rows.lo; iy < rows.hi; ++iy)
    for (int64_t ix = cols.lo; ix < cols.hi; ++ix) visit((iy * g.in_w + ix) * g.inner);
}

int64_t pixels(Span rows, Span cols) { return (rows.hi - rows.lo) * (cols.hi - cols.lo); }

// 2x2 windows at stride 2 without padding, in any layout (every reference graph's pools):
// the four pixels of a window are read at fixed offsets, channel by channel, in loops the compiler vectorises; C is the
// channels per pixel when known at compile time (0: g.inner). The general window loop
// cannot keep the window's offsets fixed.
bool tiles_2x2(const PoolGeometry& g) {
  return g.pool_h == 2 && g.pool_w == 2 && g.stride_h == 2 && g.stride_w == 2 && g.pad_top == 0 &&
         g.pad_left == 0 && 2 * g.out_h <= g.in_h && 2 * g.out_w <= g.in_w;
}

template <class Run>
void by_channels(int64_t inner, Run run) {
  switch (inner) {
    case 1: return run(std::integral_constant<int, 1>());
    case 8: return run(std::integral_constant<int, 8>());
    case 16: return run(std::integral_constant<int, 16>());
    default: return run(std::integral_constant<int, 0>());
  }
}

// Windows side by side (stride = pool, no padding): every pixel lies in one window at
// most, so dx is written once instead of cleared and then added to (R1's pools: a third
// of the memory traffic of its largest pooling pass).
bool side_by_side(const PoolGeometry& g) {
  return g.stride_h == g.pool_h && g.stride_w == g.pool_w && g.pad_top == 0 && g.pad_left == 0 &&
         g.out_h * g.stride_h <= g.in_h && g.out_w * g.stride_w <= g.in_w;
}

// Clears the pixels no window covers: the rows and columns past the last window.
void clear_uncovered(const PoolGeometry& g, float* dx) {
  const int64_t rows = g.out_h * g.stride_h, cols = g.out_w * g.stride_w, c = g.inner;
  for (int64_t iy = 0; iy < rows; ++iy)
    std::fill(dx + (iy * g.in_w + cols) * c, dx + (iy + 1) * g.in_w * c, 0.f);
  std::fill(dx + rows * g.in_w * c, dx + in_size(g), 0.f);
}

// y = reduce(a0, a1, b0, b1) of each window's top (a) and bottom (b) pixel pairs.
template <int C, class Reduce>
inline void forward_2x2(const PoolGeometry& g, const float* __restrict x, float* __restrict y, Reduce reduce) {
  const int64_t c = C ? C : g.inner, row = g.in_w * c;
  for (int64_t oy = 0; oy < g.out_h; ++oy) {
    const float* r0 = x + 2 * oy * row;
    const float* r1 = r0 + row;
    float* out = y + oy * g.out_w * c;
    for (int64_t ox = 0; ox < g.out_w; ++ox) {
      const float* a = r0 + 2 * ox * c;
      const float* b = r1 + 2 * ox * c;
      for (int64_t k = 0; k < c; ++k) out[ox * c + k] = reduce(a[k], a[c + k], b[k], b[c + k]);
    }
  }
}

template <int C>
void max_forward_2x2(const PoolGeometry& g, const float* x, float* y) {
  forward_2x2<C>(g, x, y, [](float a0, float a1, float b0, float b1) {
    return std::max(std::max(a0, a1), std::max(b0, b1));
  });
}

// The same hand-over as hand_over<false>, with the window's four pixels in registers.
template <int C>
void max_backward_2x2(const PoolGeometry& g, const float* __restrict x, const float* __restrict y,
                      const float* __restrict dy, float* __restrict dx) {
  const int64_t c = C ? C : g.inner, row = g.in_w * c;
  for (int64_t oy = 0; oy < g.out_h; ++oy)
    for (int64_t ox = 0; ox < g.out_w; ++ox) {
      const int64_t at = (oy * g.out_w + ox) * c, p = 2 * oy * row + 2 * ox * c;
      const float *x0 = x + p, *x1 = x0 + c, *x2 = x0 + row, *x3 = x2 + c, *best = y + at, *d = dy + at;
      float *dx0 = dx + p, *dx1 = dx0 + c, *dx2 = dx0 + row, *dx3 = dx2 + c;
#pragma omp simd
      for (int64_t k = 0; k < c; ++k) {
        const float b = best[k], g0 = d[k];
        const float t0 = x0[k] == b ? g0 : 0.f, g1 = g0 - t0;
        const float t1 = x1[k] == b ? g1 : 0.f, g2 = g1 - t1;
        const float t2 = x2[k] == b ? g2 : 0.f, g3 = g2 - t2;
        dx0[k] = t0;
        dx1[k] = t1;
        dx2[k] = t2;
        dx3[k] = x3[k] == b ? g3 : 0.f;
      }
    }
}

// Summed in the order the measured figures were made with: pairwise on plain planes (R4's
// first pool), else the general loop's order (the same bits as that loop).
template <int C>
void avg_forward_2x2(const PoolGeometry& g, const float* x, float* y) {
  if (C == 1)
    forward_2x2<C>(g, x, y, [](float a0, float a1, float b0, float b1) { return 0.25f * ((a0 + a1) + (b0 + b1)); });
  else
    forward_2x2<C>(g, x, y, [](float a0, float a1, float b0, float b1) { return 0.25f * (((a0 + a1) + b0) + b1); });
}

template <int C>
void avg_backward_2x2(const PoolGeometry& g, const float* __restrict dy, float* __restrict dx) {
  const int64_t c = C ? C : g.inner, row = g.in_w * c;
  for (int64_t oy = 0; oy < g.out_h; ++oy)
    for (int64_t ox = 0; ox < g.out_w; ++ox) {
      const float* d = dy + (oy * g.out_w + ox) * c;
      float* p = dx + 2 * oy * row + 2 * ox * c;
      for (int64_t k = 0; k < c; ++k) p[k] = p[c + k] = p[row + k] = p[row + c + k] = 0.25f * d[k];
    }
}

// The inner loops over contiguous floats, on pointers that never overlap (saying so lets
// the compiler vectorise).
inline void add_scaled(float* __restrict out, const float* __restrict x, float scale, int64_t c) {
  for (int64_t i = 0; i < c; ++i) out[i] += scale * x[i];
}

inline void take_max(float* __restrict out, const float* __restrict x, int64_t c) {
  for (int64_t i = 0; i < c; ++i) out[i] = std::max(out[i], x[i]);
}

void avg_forward_slice(const PoolGeometry& g, const float* x, float* y) {
  if (tiles_2x2(g))
    return by_channels(g.inner, [&](auto c) { avg_forward_2x2<decltype(c)::value>(g, x, y); });
  const int64_t c = g.inner;
  for_each_window(g, [&](int64_t at, Span rows, Span cols) {
    float* out = y + at;
    std::fill(out, out + c, 0.f);
    for_each_pixel(g, rows, cols, [&](int64_t p) { add_scaled(out, x + p, 1.f, c); });
    const int64_t count = pixels(rows, cols);
    const float scale = count > 0 ? 1.f / float(count) : 0.f;
    for (int64_t i = 0; i < c; ++i) out[i] *= scale;
  });
}

void avg_backward_slice(const PoolGeometry& g, const float* dy, float* dx) {
  if (tiles_2x2(g)) {
    clear_uncovered(g, dx);
    return by_channels(g.inner, [&](auto c) { avg_backward_2x2<decltype(c)::value>(g, dy, dx); });
  }
  const int64_t c = g.inner;
  std::fill(dx, dx + in_size(g), 0.f);
  for_each_window(g, [&](int64_t at, Span rows, Span cols) {
    const int64_t count = pixels(rows, cols);
    if (count == 0) return;
    const float scale = 1.f / float(count);
    const float* d = dy + at;
    for_each_pixel(g, rows, cols, [&](int64_t p) { add_scaled(dx + p, d, scale, c); });
  });
}

// The pixels equal to their window's maximum take what is left of its gradient; added to
// dx where windows overlap, stored where each pixel has one window.
template <bool Add>
inline void hand_over(const float* __restrict x, const float* __restrict best, float* __restrict left,
                      float* __restrict dx, int64_t c) {
  for (int64_t i = 0; i < c; ++i) {
    const float take = x[i] == best[i] ? left[i] : 0.f;  // a blend, not a branch
    dx[i] = Add ? dx[i] + take : take;
    left[i] -= take;
  }
}

void max_forward_slice(const PoolGeometry& g, const float* x, float* y) {
  if (tiles_2x2(g))
    return by_channels(g.inner, [&](auto c) { max_forward_2x2<decltype(c)::value>(g, x, y); });
  const int64_t c = g.inner;
  for_each_window(g, [&](int64_t at, Span rows, Span cols) {
    float* out = y + at;
    std::fill(out, out + c, -std::numeric_limits<float>::infinity());
    for_each_pixel(g, rows, cols, [&](int64_t p) { take_max(out, x + p, c); });
  });
}

// Each window's gradient goes to the first pixel (in row order) equal to its maximum: the
// one the forward kept, as PyTorch and oneDNN do. Comparing with the output instead of
// recording indices keeps every operation on floats, which vectorises.
void max_backward_slice(const PoolGeometry& g, const float* x, const float* y, const float* dy, float* dx,
                        float* left) {
  if (tiles_2x2(g)) {
    clear_uncovered(g, dx);
    return by_channels(g.inner, [&](auto c) { max_backward_2x2<decltype(c)::value>(g, x, y, dy, dx); });
  }
  const int64_t c = g.inner;
  const bool once = side_by_side(g);
  if (once)
    clear_uncovered(g, dx);
  else
    std::fill(dx, dx + in_size(g), 0.f);
  for_each_window(g, [&](int64_t at, Span rows, Span cols) {
    std::copy(dy + at, dy + at + c, left);  // the gradient not yet handed to a pixel
    for_each_pixel(g, rows, cols, [&](int64_t p) {
      if (once)
        hand_over<false>(x + p, y + at, left, dx + p, c);
      else
        hand_over<true>(x + p, y + at, left, dx + p, c);
    });
  });
}

}  // namespace

void avg_pool_forward(const PoolGeometry& g, const float* x, float* y) {
#pragma omp parallel for schedule(static)
  for (int64_t o = 0; o < g.outer; ++o) avg_forward_slice(g, x + o * in_size(g), y + o * out_size(g));
}

void avg_pool_backward(const PoolGeometry& g, const float* dy, float* dx) {
#pragma omp parallel for schedule(static)
  for (int64_t o = 0; o < g.outer; ++o) avg_backward_slice(g, dy + o * out_size(g), dx + o * in_size(g));
}

void max_pool_forward(const PoolGeometry& g, const float* x, float* y) {
#pragma omp parallel for schedule(static)
  for (int64_t o = 0; o < g.outer; ++o) max_forward_slice(g, x + o * in_size(g), y + o * out_size(g));
}

void max_pool_backward(const PoolGeometry& g, const float* x, const float* y, const float* dy, float* dx) {
#pragma omp parallel
  {
    std::vector<float> left(size_t(g.inner));
#pragma omp for schedule(static)
    for (int64_t o = 0; o < g.outer; ++o)
      max_backward_slice(g, x + o * in_size(g), y + o * out_size(g), dy + o * out_size(g), dx + o * in_size(g),
                         left.data());
  }
}

}  // namespace graphrun::conv
