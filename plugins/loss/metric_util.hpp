#pragma once
// Shared by the metric-learning losses (prototypical_loss, triplet_loss,
// multi_similarity_loss). Input 0 holds the embeddings X, [N, D]; input 1 the class id of
// each sample, [N, 1], a float holding a non-negative integer. The losses need distances
// between embeddings (or means of them), and every distance here is a function of three
// dot products: aa = a.a, bb = b.b and ab = a.b. So forward computes the Gram matrix
// G = X X^T once (one oneDNN matmul), the op works on G in double precision and writes
// dL/dG into H, and backward turns H into dL/dX = (H + H^T) X (a second matmul). G and H
// are N x N and planned once per batch size.
// The squared distance aa + bb - 2 ab is what dlib's loss_metric computes too; it loses
// digits only when two embeddings nearly coincide relative to their norms.
#include "loss_util.hpp"

#include <graphrun/attributes.hpp>
#include <graphrun/primitives.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace graphrun::loss::metric {

enum class Distance { sqeuclidean, euclidean, cosine };

inline Distance read_distance(const Attributes& a, const std::string& fallback) {
  const std::string d = a.choice("distance", fallback, {"sqeuclidean", "euclidean", "cosine"});
  return d == "sqeuclidean" ? Distance::sqeuclidean : d == "euclidean" ? Distance::euclidean : Distance::cosine;
}

// Partial derivatives of a distance with respect to aa, bb and ab.
struct Partials {
  double aa = 0, bb = 0, ab = 0;
};

constexpr double kSqrtClamp = 1e-12;  // euclidean: sqrt(max(s, 1e-12))
constexpr double kNormClamp = 1e-12;  // cosine: |a| read as max(|a|, 1e-12) (torch's F.normalize)

// d(a, b) from aa = a.a, bb = b.b, ab = a.b, and its partials:
//   sqeuclidean  s = max(aa + bb - 2 ab, 0)                    (no gradient where clamped)
//   euclidean    sqrt(max(s, 1e-12))                           (no gradient where clamped)
//   cosine       1 - ab / (max(|a|, 1e-12) max(|b|, 1e-12))    (a zero vector is at 1 from all)
inline double distance(Distance kind, double aa, double bb, double ab, Partials& p) {
  if (kind == Distance::cosine) {
    const double ra = std::sqrt(std::max(aa, 0.0)), rb = std::sqrt(std::max(bb, 0.0));
    const double na = std::max(ra, kNormClamp), nb = std::max(rb, kNormClamp);
    const double inv = 1.0 / (na * nb);
    p.ab = -inv;
    p.aa = ra > kNormClamp ? ab * inv / (2 * na * na) : 0.0;  // d/dna = ab / (na^2 nb), dna/daa = 1 / (2 na)
    p.bb = rb > kNormClamp ? ab * inv / (2 * nb * nb) : 0.0;
    return 1.0 - ab * inv;
  }
  const double s = aa + bb - 2 * ab;
  if (kind == Distance::sqeuclidean) {
    if (s <= 0) {
      p = {};
      return 0.0;
    }
    p = {1.0, 1.0, -2.0};
    return s;
  }
  if (s <= kSqrtClamp) {
    p = {};
    return std::sqrt(kSqrtClamp);
  }
  const double d = std::sqrt(s), k = 1.0 / (2 * d);
  p = {k, k, -2 * k};
  return d;
}

// A float for a message: "1.5", "-2", "nan", "inf".
inline std::string show(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", double(v));
  return buf;
}

// Input 0 the embeddings [D] (D >= 1), input 1 the class id [1].
inline void require_embeddings_and_classes(const std::string& op, const std::vector<Shape>& in) {
  if (in.size() != 2)
    throw Error(op + " takes 2 inputs (embeddings [D], class id [1]), got " + std::to_string(in.size()));
  if (in[1] != Shape{1})
    throw Error(op + " takes the embeddings [D] as input 0 and the class id [1] as input 1, got " + to_string(in[0]) +
                " and " + to_string(in[1]) + (in[0] == Shape{1} ? ": are the inputs swapped?" : ""));
  if (in[0].size() != 1 || in[0][0] < 1)
    throw Error(op + " needs rank-1 embeddings per sample (e.g. [64]) as input 0, got " + to_string(in[0]) +
                "; add a flatten node before it");
}

// The class ids of a batch, each checked: a float holding an integer in [0, 2^24] (all
// exact in a float). Anything else (negative, fractional, nan, inf) is an Error naming the
// op, the sample and the value.
inline void read_class_ids(const std::string& op, const float* y, int64_t n, std::vector<int64_t>& ids) {
  ids.resize(size_t(n));
  for (int64_t i = 0; i < n; ++i) {
    const float v = y[i];
    if (!(std::isfinite(v) && v >= 0 && v <= 16777216.f && std::floor(v) == v))
      throw Error(op + ": class id " + show(v) + " of sample " + std::to_string(i) +
                  " is not a non-negative integer (input 1 holds each sample's class id)");
    ids[size_t(i)] = static_cast<int64_t>(v);
  }
}

// True when every sample of the batch has the same class id: no pair of classes to tell
// apart, so these losses are 0 there, with no gradient, rather than an Error. The executor
// needs this: it runs every plan it makes once on zero-filled inputs (Plan::warm_up), a
// batch whose class ids are all 0.
inline bool single_class(const std::vector<int64_t>& ids) {
  return std::all_of(ids.begin(), ids.end(), [&](int64_t c) { return c == ids.front(); });
}

// The set-up these losses share: plain inputs, G = X X^T in forward, dX = (H + H^T) X in
// backward. A derived op reads gram(i, j) and writes dL/dG into h(i, j) (zeroed by
// clear_h()), then calls gram_backward().
class MetricLossNode : public LossNode {
 public:
  explicit MetricLossNode(std::string op) : op_(std::move(op)) {}

  dnnl::memory::desc plan(PlanContext& ctx) override {
    using dnnl::memory;
    dnnl::memory::desc out = LossNode::plan(ctx);
    const int64_t n = ctx.batch, d = per_sample_;
    engine_ = ctx.engine;
    impls_.clear();
    x_ = plain_desc({n, d});
    xt_ = memory::desc({d, n}, memory::data_type::f32, memory::dims{1, d});  // X^T: X's bytes, transposed
    const memory::desc nn = plain_desc({n, n});
    dnnl::matmul::primitive_desc gram_pd(dnnl::matmul::desc(x_, xt_, nn), engine_);
    note(ctx, op_ + ": forward gram matrix X X^T", gram_pd);
    gram_mm_ = dnnl::matmul(gram_pd);
    gram_ = Tensor(nn, engine_);
    grad_mm_ = {};
    hs_ = Tensor();
    if (ctx.needs_input_grad.empty() || ctx.needs_input_grad[0]) {
      dnnl::matmul::primitive_desc grad_pd(dnnl::matmul::desc(nn, x_, x_), engine_);
      note(ctx, op_ + ": backward (H + H^T) X", grad_pd);
      grad_mm_ = dnnl::matmul(grad_pd);
      hs_ = Tensor(nn, engine_);
    }
    h_.assign(size_t(n * n), 0.0);
    return out;
  }

  void bind(const Bindings& b) override {
    Node::bind(b);
    if (b.output_grad && !b.input_grads.empty() && in_grad(0) && !grad_mm_)
      throw Error(op_ + ": input gradient bound, but planned without one");
    float* x = const_cast<float*>(in(0).data());  // read only: the matmuls' source and weights
    x_mem_ = dnnl::memory(x_, engine_, x);
    xt_mem_ = dnnl::memory(xt_, engine_, x);
  }

  std::vector<std::string> implementations() const override { return impls_; }

 protected:
  // G = X X^T for the bound embeddings; read it with gram(i, j).
  void gram_forward(ExecContext& ctx) {
    gram_mm_.execute(ctx.stream, {{DNNL_ARG_SRC, x_mem_}, {DNNL_ARG_WEIGHTS, xt_mem_}, {DNNL_ARG_DST, gram_.memory()}});
    ctx.stream.wait();
  }
  double gram(int64_t i, int64_t j) const { return gram_.data()[i * batch_ + j]; }

  // Every pairwise distance of the batch's rows into d (N x N, symmetric, the diagonal 0),
  // after gram_forward.
  void gram_distances(Distance kind, std::vector<double>& d) const {
    const int64_t n = batch_;
    d.assign(size_t(n * n), 0.0);
    Partials unused;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = i + 1; j < n; ++j)
        d[size_t(i * n + j)] = d[size_t(j * n + i)] = distance(kind, gram(i, i), gram(j, j), gram(i, j), unused);
  }

  // With 2 or more classes every sample has a negative: no anchor means no positive anywhere.
  [[noreturn]] void no_anchor() const {
    throw Error(op_ + ": each of the " + std::to_string(batch_) + " samples of the batch is the only one of its " +
                "class, so no anchor has a positive (another sample of its class). A class-balanced batch for " + op_ +
                " holds P >= 2 classes x K >= 2 samples each, in any order");
  }

  // Whether backward has anything to write.
  bool wants_embedding_grad() const { return b_.output_grad && in_grad(0) && grad_mm_; }
  void clear_h() { std::fill(h_.begin(), h_.end(), 0.0); }
  double& h(int64_t i, int64_t j) { return h_[size_t(i * batch_ + j)]; }

  // Accumulates g * dd/dG for a distance between rows a and b of X.
  void add_pair(int64_t a, int64_t b, double g, const Partials& p) {
    h(a, a) += g * p.aa;
    h(b, b) += g * p.bb;
    h(a, b) += g * p.ab;
  }

  // dL/dX = (H + H^T) X into input 0's gradient (H read as dL/dG over independent entries).
  void gram_backward(ExecContext& ctx) {
    const int64_t n = batch_;
    float* hs = hs_.data();
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) hs[i * n + j] = static_cast<float>(h_[size_t(i * n + j)] + h_[size_t(j * n + i)]);
    grad_mm_.execute(ctx.stream,
                     {{DNNL_ARG_SRC, hs_.memory()}, {DNNL_ARG_WEIGHTS, x_mem_}, {DNNL_ARG_DST, in_grad(0)->memory()}});
    ctx.stream.wait();
  }

  // Class ids get no gradient: zeros, should anyone ask for one.
  void zero_class_grad() const {
    if (b_.input_grads.size() > 1 && in_grad(1)) in_grad(1)->fill(0.f);
  }
  void zero_embedding_grad() const {
    if (wants_embedding_grad()) in_grad(0)->fill(0.f);
  }

  std::string op_;

 private:
  void note(const PlanContext& ctx, const std::string& what, const dnnl::primitive_desc_base& pd) {
    log_primitive(ctx.verbose, what, pd);
    impls_.push_back(impl_name(pd));
  }

  dnnl::engine engine_;
  dnnl::memory::desc x_, xt_;
  dnnl::memory x_mem_, xt_mem_;  // input 0 seen as X and as X^T
  dnnl::matmul gram_mm_, grad_mm_;
  Tensor gram_, hs_;
  std::vector<double> h_;
  std::vector<std::string> impls_;
};

}  // namespace graphrun::loss::metric
