// cosine_similarity: c = a.b / max(|a| |b|, eps) per sample, output [1] (torch's
// F.cosine_similarity). A plain loop over the batch, in double: three dot products per
// sample are less work than dispatching a chain of primitives. Backward, with m = |a| |b|:
//   m > eps:  dc/da = b / m - c a / |a|^2,  dc/db = a / m - c b / |b|^2
//   clamped:  dc/da = b / eps,              dc/db = a / eps
// so the gradient stays finite where a or b is 0.
#include "merge_util.hpp"

#include <graphrun/registry.hpp>

#include <cfloat>
#include <cmath>

namespace graphrun::merge {
namespace {

using dnnl::memory;

class CosineSimilarity : public Node {
 public:
  explicit CosineSimilarity(const Attributes& a) : eps_(a.number("eps", 1e-8)) {
    if (!(eps_ >= FLT_MIN && eps_ <= FLT_MAX))
      a.fail("eps", "must be a positive number (it keeps the gradient finite at a = 0), got " + std::to_string(eps_));
  }

  Shape infer(const std::vector<Shape>& in) override {
    require_equal_vectors("cosine_similarity", in);
    return {1};
  }

  memory::desc plan(PlanContext& ctx) override {
    batch_ = ctx.batch;
    width_ = ctx.input_shapes.at(0).at(0);
    ctx.inputs[0] = ctx.inputs[1] = plain_desc({batch_, width_});
    log_implementation(ctx.verbose, "cosine_similarity: forward and backward", impl_);
    return plain_desc({batch_, 1});
  }

  void forward(ExecContext&) override {
    const float *a = in(0).data(), *b = in(1).data();
    float* c = out().data();
    for (int64_t i = 0; i < batch_; ++i) {
      const Sums s = sums(a + i * width_, b + i * width_);
      c[i] = static_cast<float>(s.ab / std::max(std::sqrt(s.aa * s.bb), eps_));
    }
  }

  void backward(ExecContext&) override {
    if (!b_.output_grad) return;
    float *da = in_grad(0) ? in_grad(0)->data() : nullptr, *db = in_grad(1) ? in_grad(1)->data() : nullptr;
    if (!da && !db) return;
    const float *a = in(0).data(), *b = in(1).data(), *g = out_grad().data();
    for (int64_t i = 0; i < batch_; ++i) {
      const float *x = a + i * width_, *y = b + i * width_;
      const Sums s = sums(x, y);
      const double m = std::sqrt(s.aa * s.bb), gi = g[i];
      // d/da = ka * a + kb * b, d/db = la * a + lb * b
      double ka = 0, kb = gi / eps_, la = gi / eps_, lb = 0;
      if (m > eps_) {
        const double c = s.ab / m;
        ka = -gi * c / s.aa, kb = gi / m, la = gi / m, lb = -gi * c / s.bb;
      }
      for (int64_t k = 0; k < width_; ++k) {
        if (da) da[i * width_ + k] = static_cast<float>(ka * x[k] + kb * y[k]);
        if (db) db[i * width_ + k] = static_cast<float>(la * x[k] + lb * y[k]);
      }
    }
  }

  std::vector<std::string> implementations() const override { return {impl_}; }

 private:
  struct Sums {
    double aa = 0, bb = 0, ab = 0;
  };
  Sums sums(const float* x, const float* y) const {
    Sums s;
    for (int64_t k = 0; k < width_; ++k) s.aa += double(x[k]) * x[k], s.bb += double(y[k]) * y[k], s.ab += double(x[k]) * y[k];
    return s;
  }

  double eps_;
  int64_t batch_ = 0, width_ = 0;
  const std::string impl_ = "graphrun:loop";
};

}  // namespace

OpInfo cosine_similarity_op() {
  OpInfo op;
  op.name = "cosine_similarity";
  op.batch_mixing = BatchMixing::none;
  op.description = "Per-sample cosine a.b / max(|a| |b|, eps) of two rank-1 inputs, output [1]; its gradient is "
                   "finite where a or b is 0";
  op.min_inputs = op.max_inputs = 2;
  op.attrs = {{"eps", "1e-8", "lower clamp of |a| |b| (torch's eps), > 0"}};
  op.make = [](const Attributes& a) { return std::make_unique<CosineSimilarity>(a); };
  return op;
}

}  // namespace graphrun::merge
