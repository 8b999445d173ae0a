#pragma once
// Winograd F(2x2, 3x3) convolution of 3x3 stride-1 layers on channels-last (nhwc) tensors,
// for machines where oneDNN 2.6 has no Winograd kernels (it has them for AVX-512 only).
//
// Each 2x2 output tile costs 16 multiply-adds per channel pair instead of 36: the input
// tile d (4x4) and the kernel g (3x3) are transformed, V = B'dB and U = GgG', multiplied
// elementwise and summed over input channels (16 matrix products, one per tile element,
// by oneDNN's sgemm), and transformed back, y = A'MA. The backward passes are the exact
// adjoints of these steps, so finite differences of the forward check them. A few images
// are transformed at a time so that their tiles stay in the core's cache: oneDNN's direct
// kernels read every operand from memory again in each pass.
#include <cstdint>
#include <vector>

namespace graphrun::conv {

struct WinogradShape {
  int64_t batch = 0, in_c = 0, out_c = 0, in_h = 0, in_w = 0, out_h = 0, out_w = 0, pad_top = 0, pad_left = 0;
  // Forward computes only the leading rows x cols of each output image (0: all), leaving
  // the rest unwritten, for readers that never look at it; backward then cannot run.
  int64_t rows = 0, cols = 0;
};

class Winograd3x3 {
 public:
  Winograd3x3() = default;
  explicit Winograd3x3(const WinogradShape& s);

  // U = G w G' for w [out_c, in_c, 3, 3]; forward and backward use the last one given.
  void transform_weights(const float* w);
  // y [batch, out_h, out_w, out_c] = conv(x [batch, in_h, in_w, in_c]) + bias (may be
  // nullptr), then max(y, 0) when relu is set. y is overwritten.
  void forward(const float* x, const float* bias, bool relu, float* y);
  // From dy [batch, out_h, out_w, out_c]: dx [batch, in_h, in_w, in_c], dw [out_c, in_c,
  // 3, 3] and db [out_c], each unless nullptr, each overwritten.
  void backward(const float* x, const float* dy, float* dx, float* dw, float* db);

 private:
  struct Buffers {
    std::vector<float> v, m, du, db;  // transformed inputs, products, weight/bias sums
    std::vector<float> sink;          // takes the values of positions outside the image
  };
  int64_t tiles_per_image() const { return tiles_h_ * tiles_w_; }
  void input_tiles(const float* image, float* v, int64_t t0) const;
  void output_tiles(const float* m, const float* bias, bool relu, float* image, int64_t t0, float* sink) const;
  void gradient_tiles(const float* image, float* m, float* db, int64_t t0) const;
  void scatter_tiles(const float* v, float* image, int64_t t0, float* sink) const;
  Buffers& buffers(int thread);
  void prepare_buffers();

  WinogradShape s_;
  int64_t rows_ = 0, cols_ = 0;  // output rows and columns computed
  int64_t tiles_h_ = 0, tiles_w_ = 0;
  int64_t images_per_chunk_ = 1, chunk_tiles_ = 0;  // tiles transformed together
  int64_t v_stride_ = 0, m_stride_ = 0;              // floats from one tile element's matrix to the next
  std::vector<float> u_;                           // [16][in_c][out_c]
  std::vector<float> zeros_;                       // read outside the image
  std::vector<Buffers> buffers_;                   // per thread
};

}  // namespace graphrun::conv
