#include "winograd.hpp"

#include <graphrun/error.hpp>

#include <dnnl.h>
#include <omp.h>

#include <algorithm>
#include <cstring>

namespace graphrun::conv {
namespace {

constexpr int kTile = 16;  // elements of a transformed 4x4 tile

// G of F(2x2, 3x3): U = G g G'. (B' and A' are written out in the transforms below.)
constexpr float kG[4][3] = {{1, 0, 0}, {.5f, .5f, .5f}, {.5f, -.5f, .5f}, {0, 0, 1}};

// Tiles transformed together: enough rows for the 16 products to run near sgemm's peak,
// few enough that a chunk's buffers stay in a core's level-2 cache.
constexpr int64_t kChunkTiles = 96;

// The transforms work on one tile across all channels: n channels at a time from 16 (or
// 4) pointers, so each loop vectorises over channels. `omp simd` says the pointers do not
// overlap, except `sink`, whose values are never read. Compiled for AVX2 and baseline.
#define GRAPHRUN_TRANSFORM __attribute__((target_clones("avx2", "default")))

// V = B' d B for the 4x4 input tile d.
GRAPHRUN_TRANSFORM void transform_input(const float* const* in, float* const* out, int64_t n) {
  const float* d[kTile];
  float* v[kTile];
  std::copy(in, in + kTile, d);
  std::copy(out, out + kTile, v);
#pragma omp simd
  for (int64_t k = 0; k < n; ++k) {
    float e[4][4];
    for (int c = 0; c < 4; ++c) {
      e[0][c] = d[c][k] - d[8 + c][k];
      e[1][c] = d[4 + c][k] + d[8 + c][k];
      e[2][c] = d[8 + c][k] - d[4 + c][k];
      e[3][c] = d[4 + c][k] - d[12 + c][k];
    }
    for (int r = 0; r < 4; ++r) {
      v[4 * r][k] = e[r][0] - e[r][2];
      v[4 * r + 1][k] = e[r][1] + e[r][2];
      v[4 * r + 2][k] = e[r][2] - e[r][1];
      v[4 * r + 3][k] = e[r][1] - e[r][3];
    }
  }
}

// y = A' m A + bias (then relu) for the 2x2 output tile.
GRAPHRUN_TRANSFORM void transform_output(const float* const* in, const float* bias, bool relu, float* const* out,
                                         int64_t n) {
  const float* m[kTile];
  float* y[4];
  std::copy(in, in + kTile, m);
  std::copy(out, out + 4, y);
  const float floor = relu ? 0.f : -__builtin_huge_valf();
#pragma omp simd
  for (int64_t k = 0; k < n; ++k) {
    float s[2][4];
    for (int c = 0; c < 4; ++c) {
      s[0][c] = m[c][k] + m[4 + c][k] + m[8 + c][k];
      s[1][c] = m[4 + c][k] - m[8 + c][k] - m[12 + c][k];
    }
    for (int r = 0; r < 2; ++r) {
      y[2 * r][k] = std::max(s[r][0] + s[r][1] + s[r][2] + bias[k], floor);
      y[2 * r + 1][k] = std::max(s[r][1] - s[r][2] - s[r][3] + bias[k], floor);
    }
  }
}

// dM = A dy A' for the 2x2 output gradient tile (the adjoint of transform_output), and
// the bias gradient.
GRAPHRUN_TRANSFORM void transform_gradient(const float* const* in, float* const* out, float* db, int64_t n) {
  const float* g[4];
  float* m[kTile];
  std::copy(in, in + 4, g);
  std::copy(out, out + kTile, m);
#pragma omp simd
  for (int64_t k = 0; k < n; ++k) {
    db[k] += g[0][k] + g[1][k] + g[2][k] + g[3][k];
    float h[4][2];
    for (int c = 0; c < 2; ++c) {
      h[0][c] = g[c][k];
      h[1][c] = g[c][k] + g[2 + c][k];
      h[2][c] = g[c][k] - g[2 + c][k];
      h[3][c] = -g[2 + c][k];
    }
    for (int r = 0; r < 4; ++r) {
      m[4 * r][k] = h[r][0];
      m[4 * r + 1][k] = h[r][0] + h[r][1];
      m[4 * r + 2][k] = h[r][0] - h[r][1];
      m[4 * r + 3][k] = -h[r][1];
    }
  }
}

// dd += B dV B' for the 4x4 input tile (the adjoint of transform_input).
GRAPHRUN_TRANSFORM void transform_scatter(const float* const* in, float* const* out, int64_t n) {
  const float* v[kTile];
  float* d[kTile];
  std::copy(in, in + kTile, v);
  std::copy(out, out + kTile, d);
#pragma omp simd
  for (int64_t k = 0; k < n; ++k) {
    float e[4][4];
    for (int c = 0; c < 4; ++c) {
      e[0][c] = v[c][k];
      e[1][c] = v[4 + c][k] - v[8 + c][k] + v[12 + c][k];
      e[2][c] = v[4 + c][k] + v[8 + c][k] - v[c][k];
      e[3][c] = -v[12 + c][k];
    }
    for (int r = 0; r < 4; ++r) {
      d[4 * r][k] += e[r][0];
      d[4 * r + 1][k] += e[r][1] - e[r][2] + e[r][3];
      d[4 * r + 2][k] += e[r][1] + e[r][2] - e[r][0];
      d[4 * r + 3][k] -= e[r][3];
    }
  }
}

bool sgemm(char ta, char tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
           int64_t ldb, float beta, float* c, int64_t ldc) {
  return dnnl_sgemm(ta, tb, m, n, k, 1.f, a, lda, b, ldb, beta, c, ldc) == dnnl_success;
}

}  // namespace

Winograd3x3::Winograd3x3(const WinogradShape& s)
    : s_(s),
      rows_(s.rows > 0 ? std::min(s.rows, s.out_h) : s.out_h),
      cols_(s.cols > 0 ? std::min(s.cols, s.out_w) : s.out_w),
      tiles_h_((rows_ + 1) / 2),
      tiles_w_((cols_ + 1) / 2),
      u_(size_t(kTile * s.in_c * s.out_c)),
      zeros_(size_t(std::max(s.in_c, s.out_c)), 0.f) {
  images_per_chunk_ = std::clamp<int64_t>(kChunkTiles / tiles_per_image(), 1, std::max<int64_t>(s.batch, 1));
  chunk_tiles_ = images_per_chunk_ * tiles_per_image();
  // A tile's 16 elements go to 16 matrices, read and written together; a cache line more
  // between them keeps those rows out of the same cache sets, which strides of whole
  // kilobytes would put them in.
  v_stride_ = chunk_tiles_ * s.in_c + 16;
  m_stride_ = chunk_tiles_ * s.out_c + 16;
}

Winograd3x3::Buffers& Winograd3x3::buffers(int thread) { return buffers_[size_t(thread)]; }

// One set per thread, allocated on the first pass and reused by every later one.
void Winograd3x3::prepare_buffers() {
  buffers_.resize(std::max(buffers_.size(), size_t(omp_get_max_threads())));
  for (Buffers& b : buffers_) {
    b.v.resize(size_t(kTile * v_stride_));
    b.m.resize(size_t(kTile * m_stride_));
    b.sink.resize(size_t(std::max(s_.in_c, s_.out_c)));
  }
}

void Winograd3x3::transform_weights(const float* w) {
  for (int64_t o = 0; o < s_.out_c; ++o)
    for (int64_t c = 0; c < s_.in_c; ++c) {
      const float* g = w + (o * s_.in_c + c) * 9;
      float t[4][3];
      for (int a = 0; a < 4; ++a)
        for (int q = 0; q < 3; ++q) t[a][q] = kG[a][0] * g[q] + kG[a][1] * g[3 + q] + kG[a][2] * g[6 + q];
      for (int a = 0; a < 4; ++a)
        for (int b = 0; b < 4; ++b)
          u_[size_t(((a * 4 + b) * s_.in_c + c) * s_.out_c + o)] =
              t[a][0] * kG[b][0] + t[a][1] * kG[b][1] + t[a][2] * kG[b][2];
    }
}

void Winograd3x3::input_tiles(const float* image, float* v, int64_t t0) const {
  const float* d[kTile];
  float* out[kTile];
  for (int64_t ty = 0; ty < tiles_h_; ++ty)
    for (int64_t tx = 0; tx < tiles_w_; ++tx) {
      const int64_t t = t0 + ty * tiles_w_ + tx;
      for (int r = 0; r < 4; ++r)
        for (int c = 0; c < 4; ++c) {
          const int64_t iy = 2 * ty + r - s_.pad_top, ix = 2 * tx + c - s_.pad_left;
          const bool inside = iy >= 0 && iy < s_.in_h && ix >= 0 && ix < s_.in_w;
          d[4 * r + c] = inside ? image + (iy * s_.in_w + ix) * s_.in_c : zeros_.data();
        }
      for (int f = 0; f < kTile; ++f) out[f] = v + f * v_stride_ + t * s_.in_c;
      transform_input(d, out, s_.in_c);
    }
}

void Winograd3x3::output_tiles(const float* m, const float* bias, bool relu, float* image, int64_t t0,
                               float* sink) const {
  const float* in[kTile];
  float* y[4];
  for (int64_t ty = 0; ty < tiles_h_; ++ty)
    for (int64_t tx = 0; tx < tiles_w_; ++tx) {
      const int64_t t = t0 + ty * tiles_w_ + tx;
      for (int f = 0; f < kTile; ++f) in[f] = m + f * m_stride_ + t * s_.out_c;
      for (int r = 0; r < 2; ++r)
        for (int c = 0; c < 2; ++c) {
          const int64_t oy = 2 * ty + r, ox = 2 * tx + c;
          y[2 * r + c] = oy < rows_ && ox < cols_ ? image + (oy * s_.out_w + ox) * s_.out_c : sink;
        }
      transform_output(in, bias ? bias : zeros_.data(), relu, y, s_.out_c);
    }
}

void Winograd3x3::gradient_tiles(const float* image, float* m, float* db, int64_t t0) const {
  const float* g[4];
  float* out[kTile];
  for (int64_t ty = 0; ty < tiles_h_; ++ty)
    for (int64_t tx = 0; tx < tiles_w_; ++tx) {
      const int64_t t = t0 + ty * tiles_w_ + tx;
      for (int r = 0; r < 2; ++r)
        for (int c = 0; c < 2; ++c) {
          const int64_t oy = 2 * ty + r, ox = 2 * tx + c;
          g[2 * r + c] = oy < s_.out_h && ox < s_.out_w ? image + (oy * s_.out_w + ox) * s_.out_c : zeros_.data();
        }
      for (int f = 0; f < kTile; ++f) out[f] = m + f * m_stride_ + t * s_.out_c;
      transform_gradient(g, out, db, s_.out_c);
    }
}

void Winograd3x3::scatter_tiles(const float* v, float* image, int64_t t0, float* sink) const {
  const float* in[kTile];
  float* d[kTile];
  for (int64_t ty = 0; ty < tiles_h_; ++ty)
    for (int64_t tx = 0; tx < tiles_w_; ++tx) {
      const int64_t t = t0 + ty * tiles_w_ + tx;
      for (int f = 0; f < kTile; ++f) in[f] = v + f * v_stride_ + t * s_.in_c;
      for (int r = 0; r < 4; ++r)
        for (int c = 0; c < 4; ++c) {
          const int64_t iy = 2 * ty + r - s_.pad_top, ix = 2 * tx + c - s_.pad_left;
          const bool inside = iy >= 0 && iy < s_.in_h && ix >= 0 && ix < s_.in_w;
          d[4 * r + c] = inside ? image + (iy * s_.in_w + ix) * s_.in_c : sink;
        }
      transform_scatter(in, d, s_.in_c);
    }
}

void Winograd3x3::forward(const float* x, const float* bias, bool relu, float* y) {
  const int64_t chunks = (s_.batch + images_per_chunk_ - 1) / images_per_chunk_;
  const int64_t in_image = s_.in_h * s_.in_w * s_.in_c, out_image = s_.out_h * s_.out_w * s_.out_c;
  const int64_t tiles = tiles_per_image();
  prepare_buffers();
  bool failed = false;
#pragma omp parallel for schedule(static) reduction(|| : failed)
  for (int64_t chunk = 0; chunk < chunks; ++chunk) {
    Buffers& b = buffers(omp_get_thread_num());
    const int64_t n0 = chunk * images_per_chunk_, n = std::min(images_per_chunk_, s_.batch - n0);
    for (int64_t i = 0; i < n; ++i) input_tiles(x + (n0 + i) * in_image, b.v.data(), i * tiles);
    for (int f = 0; f < kTile; ++f)
      failed = !sgemm('N', 'N', n * tiles, s_.out_c, s_.in_c, b.v.data() + f * v_stride_, s_.in_c,
                      u_.data() + f * s_.in_c * s_.out_c, s_.out_c, 0.f, b.m.data() + f * m_stride_, s_.out_c) ||
               failed;
    for (int64_t i = 0; i < n; ++i)
      output_tiles(b.m.data(), bias, relu, y + (n0 + i) * out_image, i * tiles, b.sink.data());
  }
  if (failed) throw Error("conv2d: oneDNN's sgemm failed in the Winograd forward pass");
}

void Winograd3x3::backward(const float* x, const float* dy, float* dx, float* dw, float* db) {
  if (rows_ < s_.out_h || cols_ < s_.out_w) throw Error("conv2d: Winograd planned for part of its output cannot run backward");
  const int64_t chunks = (s_.batch + images_per_chunk_ - 1) / images_per_chunk_;
  const int64_t in_image = s_.in_h * s_.in_w * s_.in_c, out_image = s_.out_h * s_.out_w * s_.out_c;
  const int64_t tiles = tiles_per_image(), ic = s_.in_c, oc = s_.out_c;
  prepare_buffers();
  for (Buffers& b : buffers_) {
    b.du.assign(size_t(kTile * ic * oc), 0.f);
    b.db.assign(size_t(oc), 0.f);
  }
  bool failed = false;
#pragma omp parallel for schedule(static) reduction(|| : failed)
  for (int64_t chunk = 0; chunk < chunks; ++chunk) {
    Buffers& b = buffers(omp_get_thread_num());
    const int64_t n0 = chunk * images_per_chunk_, n = std::min(images_per_chunk_, s_.batch - n0);
    for (int64_t i = 0; i < n; ++i) gradient_tiles(dy + (n0 + i) * out_image, b.m.data(), b.db.data(), i * tiles);
    if (dw) {
      for (int64_t i = 0; i < n; ++i) input_tiles(x + (n0 + i) * in_image, b.v.data(), i * tiles);
      for (int f = 0; f < kTile; ++f)
        failed = !sgemm('T', 'N', ic, oc, n * tiles, b.v.data() + f * v_stride_, ic, b.m.data() + f * m_stride_, oc, 1.f,
                        b.du.data() + f * ic * oc, oc) ||
                 failed;
    }
    if (dx) {
      for (int f = 0; f < kTile; ++f)
        failed = !sgemm('N', 'T', n * tiles, ic, oc, b.m.data() + f * m_stride_, oc, u_.data() + f * ic * oc, oc, 0.f,
                        b.v.data() + f * v_stride_, ic) ||
                 failed;
      for (int64_t i = 0; i < n; ++i) {
        float* image = dx + (n0 + i) * in_image;
        std::memset(image, 0, size_t(in_image) * sizeof(float));
        scatter_tiles(b.v.data(), image, i * tiles, b.sink.data());
      }
    }
  }
  if (failed) throw Error("conv2d: oneDNN's sgemm failed in the Winograd backward pass");

  if (db) {
    std::fill(db, db + oc, 0.f);
    for (const Buffers& b : buffers_)
      for (int64_t o = 0; o < oc; ++o) db[o] += b.db[size_t(o)];
  }
  if (!dw) return;
  // dw = G' dU G, dU summed over the threads' partial sums.
  std::vector<float>& du = buffers_[0].du;
  for (size_t t = 1; t < buffers_.size(); ++t)
    for (size_t i = 0; i < du.size(); ++i) du[i] += buffers_[t].du[i];
  for (int64_t o = 0; o < oc; ++o)
    for (int64_t c = 0; c < ic; ++c) {
      float t[3][4];  // G' dU
      for (int p = 0; p < 3; ++p)
        for (int b = 0; b < 4; ++b) {
          float s = 0;
          for (int a = 0; a < 4; ++a) s += kG[a][p] * du[size_t(((a * 4 + b) * ic + c) * oc + o)];
          t[p][b] = s;
        }
      float* g = dw + (o * ic + c) * 9;
      for (int p = 0; p < 3; ++p)
        for (int q = 0; q < 3; ++q) g[p * 3 + q] = t[p][0] * kG[0][q] + t[p][1] * kG[1][q] + t[p][2] * kG[2][q] + t[p][3] * kG[3][q];
    }
}

}  // namespace graphrun::conv
