// dropout: in training, out = in * mask with mask = 1/(1-rate) with probability 1-rate,
// else 0 (inverted dropout: evaluation needs no rescaling). The mask is drawn from the
// step's seed, so a forward repeated with the same seed drops the same units, and kept
// for backward: diff_in = diff_out * mask. In evaluation the node is a copy.
#include <graphrun/primitives.hpp>
#include <graphrun/registry.hpp>

#include <algorithm>
#include <cstdint>

namespace graphrun::core {
namespace {

// Counter-based (splitmix64 of seed + index): cheap, vectorisable and the same for a
// given seed. Each 64-bit draw gives two 32-bit uniforms; a unit is kept when its uniform
// is at least rate * 2^32. Padding of blocked layouts gets values too; they multiply
// zeros. Compiled for AVX-512, AVX2 and the baseline (the loader picks).
uint64_t splitmix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Mask units [begin, end) of m; begin is even.
__attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
void mask_units(float* m, uint64_t seed, int64_t begin, int64_t end, uint64_t cut, float keep) {
  const int64_t pairs = (end - begin) / 2;
  float* out = m + begin;
  for (int64_t j = 0; j < pairs; ++j) {  // branch-free, so that it vectorises
    const uint64_t r = splitmix64(seed + uint64_t(begin + 2 * j));
    out[2 * j] = (r & 0xffffffffu) >= cut ? keep : 0.f;
    out[2 * j + 1] = (r >> 32) >= cut ? keep : 0.f;
  }
  if ((end - begin) % 2) out[2 * pairs] = (splitmix64(seed + uint64_t(end - 1)) & 0xffffffffu) >= cut ? keep : 0.f;
}

class Dropout : public Node {
 public:
  explicit Dropout(const Attributes& a) : rate_(a.number("rate")) {
    if (!(rate_ >= 0 && rate_ < 1)) a.fail("rate", "must be in [0, 1), got " + a.text("rate"));
  }

  Shape infer(const std::vector<Shape>& inputs) override { return inputs.at(0); }

  dnnl::memory::desc plan(PlanContext& ctx) override {
    // Element-wise: any layout the producer delivers will do.
    const dnnl::memory::desc data = ctx.inputs.at(0);
    engine_ = ctx.engine;
    data_ = data;
    impls_.clear();
    dnnl::reorder::primitive_desc copy_pd(ctx.engine, data, ctx.engine, data);
    log_primitive(ctx.verbose, "dropout: copy", copy_pd);
    impls_.push_back(impl_name(copy_pd));
    copy_ = dnnl::reorder(copy_pd);
    mul_ = dnnl::primitive();
    if (rate_ > 0) {
      dnnl::binary::desc d(dnnl::algorithm::binary_mul, data, data, data);
      dnnl::binary::primitive_desc pd(d, ctx.engine);
      log_primitive(ctx.verbose, "dropout: mask", pd);
      impls_.push_back(impl_name(pd));
      mul_ = dnnl::binary(pd);
    }
    // A frozen dropout always evaluates, where it is a copy: the output is the input.
    ctx.output_aliases_input = !ctx.needs_param_grad || rate_ == 0;
    return data;
  }

  void bind(const Bindings& b) override {
    Node::bind(b);
    copy_fwd_args_ = {{DNNL_ARG_FROM, in(0).memory()}, {DNNL_ARG_TO, out().memory()}};
    if (mul_) {
      mask_ = Tensor(data_, engine_);
      mul_fwd_args_ = {{DNNL_ARG_SRC_0, in(0).memory()}, {DNNL_ARG_SRC_1, mask_.memory()},
                       {DNNL_ARG_DST, out().memory()}};
    }
    copy_bwd_args_.clear();
    mul_bwd_args_.clear();
    if (!in_grad(0) || !b.output_grad) return;
    copy_bwd_args_ = {{DNNL_ARG_FROM, out_grad().memory()}, {DNNL_ARG_TO, in_grad(0)->memory()}};
    if (mul_)
      mul_bwd_args_ = {{DNNL_ARG_SRC_0, out_grad().memory()}, {DNNL_ARG_SRC_1, mask_.memory()},
                       {DNNL_ARG_DST, in_grad(0)->memory()}};
  }

  void forward(ExecContext& ctx) override {
    masked_ = mul_ && ctx.mode == Mode::train;
    if (!masked_) {
      copy_.execute(ctx.stream, copy_fwd_args_);
      return;
    }
    draw_mask(ctx.seed);
    mul_.execute(ctx.stream, mul_fwd_args_);
  }

  void backward(ExecContext& ctx) override {
    if (!in_grad(0)) return;
    if (masked_)
      mul_.execute(ctx.stream, mul_bwd_args_);
    else
      copy_.execute(ctx.stream, copy_bwd_args_);
  }

  std::vector<std::string> implementations() const override { return impls_; }

 private:
  void draw_mask(uint64_t seed) {
    const uint64_t cut = static_cast<uint64_t>(rate_ * 4294967296.0);
    const float keep = static_cast<float>(1.0 / (1.0 - rate_));
    float* m = mask_.data();
    const int64_t n = int64_t(mask_.size());
    constexpr int64_t kChunk = 1 << 13;  // even: a draw covers two units
#pragma omp parallel for if (n >= (1 << 15))
    for (int64_t begin = 0; begin < n; begin += kChunk)
      mask_units(m, seed, begin, std::min(n, begin + kChunk), cut, keep);
  }

  double rate_;
  dnnl::engine engine_;
  dnnl::memory::desc data_;
  dnnl::primitive copy_, mul_;
  ArgMap copy_fwd_args_, mul_fwd_args_, copy_bwd_args_, mul_bwd_args_;
  Tensor mask_;
  bool masked_ = false;
  std::vector<std::string> impls_;
};

}  // namespace

OpInfo dropout_op() {
  OpInfo op;
  op.name = "dropout";
  op.batch_mixing = BatchMixing::none;
  op.description = "Training only: zeroes each value with probability `rate` and scales the rest by "
                   "1/(1-rate); a copy in evaluation";
  op.attrs = {{"rate", "", "probability of dropping a value, in [0, 1) (required)"}};
  op.make = [](const Attributes& a) { return std::make_unique<Dropout>(a); };
  return op;
}

}  // namespace graphrun::core
