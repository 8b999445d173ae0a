// pairwise_distance: inputs X [N, D] and Y [N, D] as batches; output row i holds the
// distances from X_i to every Y_j, so the per-sample shape is [N] (kBatchDim) and the
// output an N x N matrix, planned per batch size. Every distance is a function of
// xx = X_i.X_i, yy = Y_j.Y_j and G = X Y^T (one oneDNN matmul):
//   sqeuclidean  s = max(xx + yy - 2 G, 0)
//   euclidean    sqrt(max(xx + yy - 2 G, eps))             (no gradient where clamped)
//   cosine       1 - G / max(sqrt(xx yy), eps)             (finite gradient at 0)
// Backward writes dL/dG into H and dL/dxx, dL/dyy into hx, hy, then
//   dX = H Y + 2 hx X,  dY = H^T X + 2 hy Y                 (two matmuls of one primitive)
#include "merge_util.hpp"

#include <graphrun/registry.hpp>

#include <cfloat>
#include <cmath>

namespace graphrun::merge {
namespace {

using dnnl::memory;

enum class Metric { euclidean, sqeuclidean, cosine };

class PairwiseDistance : public Node {
 public:
  explicit PairwiseDistance(const Attributes& a) : eps_(a.number("eps", 1e-8)) {
    const std::string m = a.choice("metric", "euclidean", {"euclidean", "sqeuclidean", "cosine"});
    metric_ = m == "euclidean" ? Metric::euclidean : m == "sqeuclidean" ? Metric::sqeuclidean : Metric::cosine;
    if (!(eps_ >= FLT_MIN && eps_ <= FLT_MAX))
      a.fail("eps", "must be a positive number (it keeps the gradient finite), got " + std::to_string(eps_));
  }

  Shape infer(const std::vector<Shape>& in) override {
    require_equal_vectors("pairwise_distance", in);
    return {kBatchDim};
  }

  memory::desc plan(PlanContext& ctx) override {
    impls_.clear();
    engine_ = ctx.engine;
    n_ = ctx.batch;
    d_ = ctx.input_shapes.at(0).at(0);
    const memory::desc rows = plain_desc({n_, d_}), nn = plain_desc({n_, n_});
    ctx.inputs[0] = ctx.inputs[1] = rows;
    yt_ = memory::desc({d_, n_}, memory::data_type::f32, memory::dims{1, d_});  // Y's bytes read as Y^T
    dnnl::matmul::primitive_desc gram(dnnl::matmul::desc(rows, yt_, nn), engine_);
    note(ctx, impls_, "pairwise_distance: forward X Y^T", gram);
    gram_mm_ = dnnl::matmul(gram);
    gram_ = Tensor(nn, engine_);
    xx_.assign(size_t(n_), 0.0);
    yy_.assign(size_t(n_), 0.0);
    grad_mm_ = {};
    if (wants_grad(ctx, 0) || wants_grad(ctx, 1)) {
      dnnl::matmul::primitive_desc grad(dnnl::matmul::desc(nn, rows, rows), engine_);
      note(ctx, impls_, "pairwise_distance: backward H Y, H^T X", grad);
      grad_mm_ = dnnl::matmul(grad);
      h_ = Tensor(nn, engine_);
      ht_ = Tensor(nn, engine_);
      hx_.assign(size_t(n_), 0.0);
      hy_.assign(size_t(n_), 0.0);
    }
    return nn;
  }

  void bind(const Bindings& b) override {
    Node::bind(b);
    if (b.output_grad && (in_grad(0) || in_grad(1)) && !grad_mm_)
      throw Error("pairwise_distance: input gradient bound, but planned without one");
    yt_mem_ = memory(yt_, engine_, const_cast<float*>(in(1).data()));  // read only
  }

  void forward(ExecContext& ctx) override {
    gram_mm_.execute(ctx.stream, {{DNNL_ARG_SRC, in(0).memory()}, {DNNL_ARG_WEIGHTS, yt_mem_}, {DNNL_ARG_DST, gram_.memory()}});
    ctx.stream.wait();
    squared_norms(in(0).data(), xx_);
    squared_norms(in(1).data(), yy_);
    const float* g = gram_.data();
    float* out = this->out().data();
    Partials p;
    for (int64_t i = 0; i < n_; ++i)
      for (int64_t j = 0; j < n_; ++j) out[i * n_ + j] = float(distance(xx_[size_t(i)], yy_[size_t(j)], g[i * n_ + j], p));
  }

  // Uses the Gram matrix and norms of the preceding forward.
  void backward(ExecContext& ctx) override {
    if (!b_.output_grad || !grad_mm_ || (!in_grad(0) && !in_grad(1))) return;
    const float *g = gram_.data(), *dout = out_grad().data();
    float *h = h_.data(), *ht = ht_.data();
    std::fill(hx_.begin(), hx_.end(), 0.0);
    std::fill(hy_.begin(), hy_.end(), 0.0);
    Partials p;
    for (int64_t i = 0; i < n_; ++i)
      for (int64_t j = 0; j < n_; ++j) {
        distance(xx_[size_t(i)], yy_[size_t(j)], g[i * n_ + j], p);
        const double gij = dout[i * n_ + j];
        h[i * n_ + j] = ht[j * n_ + i] = float(gij * p.ab);
        hx_[size_t(i)] += gij * p.aa;
        hy_[size_t(j)] += gij * p.bb;
      }
    if (in_grad(0)) gradient(ctx, h_, in(1), in(0), hx_, *in_grad(0));
    if (in_grad(1)) gradient(ctx, ht_, in(0), in(1), hy_, *in_grad(1));
  }

  std::vector<std::string> implementations() const override { return impls_; }

 private:
  struct Partials {
    double aa = 0, bb = 0, ab = 0;  // of the distance by xx, yy and G
  };

  double distance(double aa, double bb, double ab, Partials& p) const {
    if (metric_ == Metric::cosine) {
      const double m = std::sqrt(aa * bb);
      if (m <= eps_) {
        p = {0, 0, -1 / eps_};
        return 1 - ab / eps_;
      }
      const double c = ab / m;
      p = {c / (2 * aa), c / (2 * bb), -1 / m};
      return 1 - c;
    }
    const double s = aa + bb - 2 * ab;
    if (metric_ == Metric::sqeuclidean) {
      p = s > 0 ? Partials{1, 1, -2} : Partials{};
      return std::max(s, 0.0);
    }
    if (s <= eps_) {
      p = {};
      return std::sqrt(eps_);
    }
    const double d = std::sqrt(s), k = 1 / (2 * d);
    p = {k, k, -2 * k};
    return d;
  }

  void squared_norms(const float* x, std::vector<double>& out) const {
    for (int64_t i = 0; i < n_; ++i) {
      double s = 0;
      for (int64_t k = 0; k < d_; ++k) s += double(x[i * d_ + k]) * x[i * d_ + k];
      out[size_t(i)] = s;
    }
  }

  // grad = M other + 2 diag(own_norm_grad) own: the matmul writes it, the loop adds the
  // squared norm's term to what it wrote.
  void gradient(ExecContext& ctx, const Tensor& m, const Tensor& other, const Tensor& own,
                const std::vector<double>& norm_grad, Tensor& grad) {
    memory other_mem(other.desc(), engine_, const_cast<float*>(other.data()));  // read only
    grad_mm_.execute(ctx.stream, {{DNNL_ARG_SRC, m.memory()}, {DNNL_ARG_WEIGHTS, other_mem}, {DNNL_ARG_DST, grad.memory()}});
    ctx.stream.wait();
    float* gr = grad.data();
    const float* x = own.data();
    for (int64_t i = 0; i < n_; ++i)
      for (int64_t k = 0; k < d_; ++k) gr[i * d_ + k] += float(2 * norm_grad[size_t(i)] * x[i * d_ + k]);
  }

  Metric metric_;
  double eps_;
  int64_t n_ = 0, d_ = 0;
  dnnl::engine engine_;
  memory::desc yt_;
  memory yt_mem_;
  dnnl::matmul gram_mm_, grad_mm_;
  Tensor gram_, h_, ht_;
  std::vector<double> xx_, yy_, hx_, hy_;
  std::vector<std::string> impls_;
};

}  // namespace

OpInfo pairwise_distance_op() {
  OpInfo op;
  op.name = "pairwise_distance";
  op.batch_mixing = BatchMixing::always;
  op.batch_dependent_shape = true;
  op.description = "Distances from each row of batch X to every row of batch Y (rank-1 inputs): per-sample shape "
                   "[N], an N x N matrix; metric euclidean, sqeuclidean or cosine";
  op.min_inputs = op.max_inputs = 2;
  op.attrs = {{"metric", "euclidean", "euclidean sqrt(max(s, eps)), sqeuclidean s, or cosine 1 - cos"},
              {"eps", "1e-8", "euclidean: lower clamp of s; cosine: of |x| |y|; > 0"}};
  op.make = [](const Attributes& a) { return std::make_unique<PairwiseDistance>(a); };
  return op;
}

}  // namespace graphrun::merge
