#include <graphrun/tensor.hpp>
#include <graphrun/error.hpp>

#include <algorithm>
#include <cstring>
#include <numeric>

namespace graphrun {

bool has_batch_dim(const Shape& shape) { return std::count(shape.begin(), shape.end(), kBatchDim) > 0; }

Shape resolve_batch(const Shape& shape, int64_t batch) {
  Shape out = shape;
  std::replace(out.begin(), out.end(), kBatchDim, batch);
  return out;
}

std::string to_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + (shape[i] == kBatchDim ? std::string("N") : std::to_string(shape[i]));
  return s + "]";
}

int64_t volume(const Shape& shape) {
  if (has_batch_dim(shape)) return kBatchDim;
  return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<int64_t>());
}

dnnl::memory::desc plain_desc(const Shape& dims) {
  dnnl::memory::dims d(dims.begin(), dims.end());
  dnnl::memory::dims strides(d.size(), 1);
  for (int i = static_cast<int>(d.size()) - 2; i >= 0; --i) strides[i] = strides[i + 1] * d[i + 1];
  return dnnl::memory::desc(d, dnnl::memory::data_type::f32, strides);
}

bool is_plain(const dnnl::memory::desc& desc) {
  const auto dims = desc.dims();
  if (dims.empty()) return false;
  return desc == plain_desc(Shape(dims.begin(), dims.end()));
}

namespace {

// Layout changes outside the steps (checkpoints, initialisers, re-laid parameters) run
// rarely: one engine for them all.
const dnnl::engine& conversion_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

void convert(const dnnl::memory::desc& from, const float* src, const dnnl::memory::desc& to, float* dst) {
  const dnnl::engine& eng = conversion_engine();
  dnnl::memory a(from, eng, const_cast<float*>(src)), b(to, eng, dst);
  dnnl::stream s(eng);
  dnnl::reorder(a, b).execute(s, a, b);
  s.wait();
}

}  // namespace

std::vector<float> to_plain_values(const dnnl::memory::desc& desc, const float* data) {
  const auto d = desc.dims();
  const Shape dims(d.begin(), d.end());
  std::vector<float> out(static_cast<size_t>(volume(dims)));
  if (is_plain(desc)) std::copy(data, data + out.size(), out.begin());
  else convert(desc, data, plain_desc(dims), out.data());
  return out;
}

void from_plain_values(const dnnl::memory::desc& desc, const float* plain, float* data) {
  const auto d = desc.dims();
  const Shape dims(d.begin(), d.end());
  if (is_plain(desc)) {
    std::copy(plain, plain + volume(dims), data);
    return;
  }
  std::fill_n(data, desc.get_size() / sizeof(float), 0.f);  // the padding stays zero
  convert(plain_desc(dims), plain, desc, data);
}

Tensor::Tensor(const dnnl::memory::desc& desc, const dnnl::engine& engine) : memory_(desc, engine) {
  fill(0.f);
}

Tensor Tensor::view(Tensor& base, const dnnl::memory::desc& desc, size_t offset) {
  if (offset * sizeof(float) + desc.get_size() > base.size() * sizeof(float))
    throw Error("a tensor view reaches past the end of its base tensor");
  Tensor t;
  t.memory_ = dnnl::memory(desc, base.memory().get_engine(), base.data() + offset);
  return t;
}

Shape Tensor::dims() const {
  auto d = memory_.get_desc().dims();
  return Shape(d.begin(), d.end());
}

void Tensor::fill(float value) { std::fill_n(data(), size(), value); }

}  // namespace graphrun
