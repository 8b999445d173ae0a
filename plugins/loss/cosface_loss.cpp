// cosface_loss: the large-margin cosine loss (Wang et al. 2018, "CosFace"; Wang, Cheng, Liu
// and Liu 2018, "Additive Margin Softmax"; pytorch-metric-learning's CosFaceLoss). A
// classifier over the training classes whose logits are cosines: the embedding then serves
// for verification by cosine distance on classes it never saw. Inputs: embeddings x_i [D]
// and the class id y_i [1] of each sample (a float holding an integer in [0, classes)).
// It owns one parameter, `kernel` [classes, D]: a direction per class.
//   cos_ic = x_i.w_c / (|x_i| |w_c|)                (norms read as max(|.|, 1e-12))
//   z_ic   = scale (cos_ic - margin [c = y_i])
//   loss   = (1 / N) sum_i (log sum_c exp(z_ic) - z_i,y_i)
// The margin makes a sample's own class win by `margin` in cosine before its loss is small.
// Unlike the metric losses, any batch works: the classes are the kernel's rows, not the
// batch's samples (a batch of one class is fine). Class ids get no gradient.
// The three products (X^ W^T, dCos W^, dCos^T X^) run as oneDNN matmuls on the normalised
// copies; the rest is batch x classes arithmetic in double precision.
#include "metric_util.hpp"

#include <graphrun/registry.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace graphrun::loss {
namespace {

using dnnl::memory;

class CosFaceLoss : public LossNode {
 public:
  explicit CosFaceLoss(const Attributes& a)
      : classes_(a.integer("classes")), margin_(a.number("margin", 0.35)), scale_(a.number("scale", 64)) {
    if (classes_ < 2) a.fail("classes", "must be at least 2 (the number of training classes), got " + std::to_string(classes_));
    if (!std::isfinite(margin_) || margin_ < 0 || margin_ >= 2)
      a.fail("margin", "must be in [0, 2) (a cosine margin), got " + std::to_string(margin_));
    if (!std::isfinite(scale_) || scale_ <= 0) a.fail("scale", "must be a positive number, got " + std::to_string(scale_));
  }

  Shape infer(const std::vector<Shape>& in) override {
    metric::require_embeddings_and_classes("cosface_loss", in);
    dim_ = in[0][0];
    return {};
  }

  std::vector<ParamSpec> params(const std::vector<Shape>& in) const override {
    ParamSpec kernel("kernel", {classes_, in.at(0).at(0)});
    kernel.default_init = "glorot_uniform";
    kernel.fan_in = in.at(0).at(0);
    kernel.fan_out = classes_;
    return {kernel};
  }

  memory::desc plan(PlanContext& ctx) override {
    const memory::desc out = LossNode::plan(ctx);
    const int64_t n = ctx.batch, d = dim_, c = classes_;
    engine_ = ctx.engine;
    impls_.clear();
    const memory::desc x = plain_desc({n, d}), w = plain_desc({c, d}), cos = plain_desc({n, c});
    const memory::desc wt({d, c}, memory::data_type::f32, memory::dims{1, d});   // W^'s bytes as [D, C]
    const memory::desc cost({c, n}, memory::data_type::f32, memory::dims{1, c});  // dCos's bytes as [C, N]
    cos_mm_ = make(ctx, "cosface_loss: forward cosines X^ W^T", x, wt, cos);
    x_hat_ = Tensor(x, engine_);
    w_hat_ = Tensor(w, engine_);
    cos_ = Tensor(cos, engine_);
    dcos_ = Tensor(cos, engine_);
    const bool input_grad = ctx.needs_input_grad.empty() || ctx.needs_input_grad[0];
    dx_mm_ = input_grad ? make(ctx, "cosface_loss: backward dCos W^", cos, w, x) : dnnl::matmul();
    dw_mm_ = ctx.needs_param_grad ? make(ctx, "cosface_loss: backward dCos^T X^", cost, x, w) : dnnl::matmul();
    dx_hat_ = input_grad ? Tensor(x, engine_) : Tensor();
    dw_hat_ = ctx.needs_param_grad ? Tensor(w, engine_) : Tensor();
    w_hat_t_ = dnnl::memory(wt, engine_, w_hat_.data());
    dcos_t_ = dnnl::memory(cost, engine_, dcos_.data());
    x_norm_.assign(size_t(n), 0.0);
    w_norm_.assign(size_t(c), 0.0);
    prob_.assign(size_t(n * c), 0.0);
    return out;
  }

  std::vector<std::string> implementations() const override { return impls_; }

  void forward(ExecContext& ctx) override {
    metric::read_class_ids("cosface_loss", in(1).data(), batch_, ids_);
    for (int64_t i = 0; i < batch_; ++i)
      if (ids_[size_t(i)] >= classes_)
        throw Error("cosface_loss: class id " + std::to_string(ids_[size_t(i)]) + " of sample " + std::to_string(i) +
                    " is not below classes: " + std::to_string(classes_) +
                    " (set classes to the number of training classes)");
    normalise_rows(in(0).data(), x_hat_.data(), batch_, x_norm_);
    normalise_rows(param(0).data(), w_hat_.data(), classes_, w_norm_);
    cos_mm_.execute(ctx.stream, {{DNNL_ARG_SRC, x_hat_.memory()}, {DNNL_ARG_WEIGHTS, w_hat_t_}, {DNNL_ARG_DST, cos_.memory()}});
    ctx.stream.wait();
    double sum = 0;
    const float* cos = cos_.data();
    for (int64_t i = 0; i < batch_; ++i) {
      const int64_t own = ids_[size_t(i)];
      double* p = prob_.data() + i * classes_;  // the logits, then their softmax in place
      double top = -std::numeric_limits<double>::infinity();
      for (int64_t c = 0; c < classes_; ++c) top = std::max(top, p[c] = logit(cos[i * classes_ + c], c == own));
      const double own_logit = p[own];
      double z = 0;
      for (int64_t c = 0; c < classes_; ++c) z += p[c] = std::exp(p[c] - top);
      for (int64_t c = 0; c < classes_; ++c) p[c] /= z;
      sum += top + std::log(z) - own_logit;
    }
    out().data()[0] = static_cast<float>(sum / double(batch_));
  }

  // Uses the normalised rows and probabilities of the preceding forward.
  void backward(ExecContext& ctx) override {
    if (!b_.output_grad) return;
    if (float* dy = label_grad()) std::fill(dy, dy + batch_, 0.f);
    float* dx = prediction_grad();
    Tensor* dw = b_.param_grads.empty() ? nullptr : param_grad(0);
    if (!dx && !dw) return;
    const double g = scale_ * double(loss_grad()) / double(batch_);
    float* dcos = dcos_.data();
    for (int64_t i = 0; i < batch_; ++i)
      for (int64_t c = 0; c < classes_; ++c)
        dcos[i * classes_ + c] =
            static_cast<float>(g * (prob_[size_t(i * classes_ + c)] - (c == ids_[size_t(i)] ? 1.0 : 0.0)));
    if (dx && dx_mm_) {
      dx_mm_.execute(ctx.stream, {{DNNL_ARG_SRC, dcos_.memory()}, {DNNL_ARG_WEIGHTS, w_hat_.memory()}, {DNNL_ARG_DST, dx_hat_.memory()}});
      ctx.stream.wait();
      unnormalise_grad(x_hat_.data(), dx_hat_.data(), x_norm_, batch_, dx);
    }
    if (dw && dw_mm_) {
      dw_mm_.execute(ctx.stream, {{DNNL_ARG_SRC, dcos_t_}, {DNNL_ARG_WEIGHTS, x_hat_.memory()}, {DNNL_ARG_DST, dw_hat_.memory()}});
      ctx.stream.wait();
      unnormalise_grad(w_hat_.data(), dw_hat_.data(), w_norm_, classes_, dw->data());
    }
  }

 private:
  double logit(float cos, bool own) const { return scale_ * (double(cos) - (own ? margin_ : 0.0)); }

  // Row r of `src` ([rows, D]) divided by its norm into `dst`; the norms (clamped) kept.
  void normalise_rows(const float* src, float* dst, int64_t rows, std::vector<double>& norms) const {
    for (int64_t r = 0; r < rows; ++r) {
      const float* s = src + r * dim_;
      double sq = 0;
      for (int64_t k = 0; k < dim_; ++k) sq += double(s[k]) * s[k];
      norms[size_t(r)] = std::max(std::sqrt(sq), metric::kNormClamp);
      const double inv = 1.0 / norms[size_t(r)];
      for (int64_t k = 0; k < dim_; ++k) dst[r * dim_ + k] = static_cast<float>(s[k] * inv);
    }
  }

  // d/dv of v / |v| applied to the gradient g^ of the normalised row v^:
  // (g^ - v^ (v^.g^)) / |v|; where |v| was clamped (a zero row) the map is v / 1e-12, and its
  // gradient g^ / 1e-12 is taken as 0 instead: a zero row has no direction to follow.
  void unnormalise_grad(const float* hat, const float* ghat, const std::vector<double>& norms, int64_t rows,
                        float* out) const {
    for (int64_t r = 0; r < rows; ++r) {
      const float *v = hat + r * dim_, *g = ghat + r * dim_;
      float* o = out + r * dim_;
      if (norms[size_t(r)] <= metric::kNormClamp) {
        std::fill(o, o + dim_, 0.f);
        continue;
      }
      double dot = 0;
      for (int64_t k = 0; k < dim_; ++k) dot += double(v[k]) * g[k];
      const double inv = 1.0 / norms[size_t(r)];
      for (int64_t k = 0; k < dim_; ++k) o[k] = static_cast<float>((g[k] - v[k] * dot) * inv);
    }
  }

  dnnl::matmul make(const PlanContext& ctx, const std::string& what, const memory::desc& a, const memory::desc& b,
                    const memory::desc& c) {
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), engine_);
    log_primitive(ctx.verbose, what, pd);
    impls_.push_back(impl_name(pd));
    return dnnl::matmul(pd);
  }

  int64_t classes_;
  double margin_, scale_;
  int64_t dim_ = 0;
  dnnl::engine engine_;
  dnnl::matmul cos_mm_, dx_mm_, dw_mm_;
  Tensor x_hat_, w_hat_, cos_, dcos_, dx_hat_, dw_hat_;
  dnnl::memory w_hat_t_, dcos_t_;  // W^ seen as [D, C], dCos as [C, N]
  std::vector<double> x_norm_, w_norm_, prob_;
  std::vector<int64_t> ids_;
  std::vector<std::string> impls_;
};

}  // namespace

OpInfo cosface_loss_op() {
  OpInfo op;
  op.name = "cosface_loss";
  op.description =
      "Large-margin cosine loss (CosFace / additive-margin softmax): inputs embeddings [D] and class id [1] in "
      "[0, classes); a softmax over scale * (cosine to each class's kernel row, minus margin for the sample's own "
      "class); the kernel [classes, D] is trained with the embedding";
  op.min_inputs = op.max_inputs = 2;
  op.is_loss = true;
  op.batch_mixing = BatchMixing::always;
  op.attrs = {{"classes", "", "number of training classes (class ids run 0 .. classes - 1)"},
              {"margin", "0.35", "cosine margin in [0, 2) taken off the own class's cosine"},
              {"scale", "64", "logit scale s, > 0"}};
  op.make = [](const Attributes& a) { return std::make_unique<CosFaceLoss>(a); };
  return op;
}

}  // namespace graphrun::loss
