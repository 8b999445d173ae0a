#pragma once
#include <dnnl.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace graphrun {

// Dimensions of a tensor. Shapes seen by shape inference exclude the batch dimension;
// dims of an allocated Tensor include it (batch first).
using Shape = std::vector<int64_t>;

// A per-sample dim whose size is the batch's: a row of distances to every sample of the
// batch is [kBatchDim]. Shape inference sees this value; a plan sees the batch size there.
constexpr int64_t kBatchDim = -1;
bool has_batch_dim(const Shape& shape);
// The shape with every kBatchDim replaced by `batch`.
Shape resolve_batch(const Shape& shape, int64_t batch);

std::string to_string(const Shape& shape);  // "[128]", "[N]" for kBatchDim
// Product of the dims; kBatchDim for a shape that holds it (its size is not known yet).
int64_t volume(const Shape& shape);

// Row-major f32 descriptor (nc, nchw, ...) for the given dims.
dnnl::memory::desc plain_desc(const Shape& dims);
bool is_plain(const dnnl::memory::desc& desc);

// Values laid out by `desc` (blocked or plain) read in, or written from, row-major order
// (volume(dims) floats). Padding of blocked layouts is written as zeros.
std::vector<float> to_plain_values(const dnnl::memory::desc& desc, const float* data);
void from_plain_values(const dnnl::memory::desc& desc, const float* plain, float* data);

// A tensor is a dnnl::memory: one buffer with an f32 descriptor that may be blocked.
class Tensor {
 public:
  Tensor() = default;
  Tensor(const dnnl::memory::desc& desc, const dnnl::engine& engine);  // allocates, zeroed
  // A tensor over part of `base`'s buffer, from `offset` floats on; `base` must outlive it.
  static Tensor view(Tensor& base, const dnnl::memory::desc& desc, size_t offset);

  dnnl::memory& memory() { return memory_; }
  const dnnl::memory& memory() const { return memory_; }
  dnnl::memory::desc desc() const { return memory_.get_desc(); }
  Shape dims() const;
  bool empty() const { return !memory_; }

  float* data() { return static_cast<float*>(memory_.get_data_handle()); }
  const float* data() const { return static_cast<const float*>(memory_.get_data_handle()); }
  // Number of floats in the buffer, padding of blocked layouts included.
  size_t size() const { return memory_.get_desc().get_size() / sizeof(float); }

  void fill(float value);
  // Its values in row-major order of dims(), whatever the layout (and back).
  std::vector<float> plain_values() const { return to_plain_values(desc(), data()); }
  void set_plain_values(const float* plain) { from_plain_values(desc(), plain, data()); }

 private:
  dnnl::memory memory_;
};

}  // namespace graphrun
