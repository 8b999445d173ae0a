// euclidean_distance: d = sqrt(max(sum_i (a_i - b_i)^2, eps)) per sample, output [1]
// (Keras's epsilon guards the root at a == b). Forward: binary sub with a square
// post-op, then a sum reduction with clip and sqrt post-ops. (oneDNN's lp-norm
// reduction has this exact clamp but only a reference kernel in 2.6; sum is jitted.)
// Backward: dd/da = (a - b) / d where the sum is above eps and 0 where the clamp holds,
// so the gradient stays finite (and is 0) at a == b:
//   diff = a - b                      binary sub, recomputed into the spent squares' buffer
//   k    = (d > sqrt(eps)) * g / d    one binary gt with mul and div post-ops, [N, 1]
//   da   = diff * k, db = -(diff * k) binary mul broadcasting k over the features
#include "merge_util.hpp"

#include <graphrun/registry.hpp>

#include <cfloat>
#include <cmath>

namespace graphrun::merge {
namespace {

using dnnl::algorithm;
using dnnl::memory;

class EuclideanDistance : public Node {
 public:
  explicit EuclideanDistance(const Attributes& a) : eps_(a.number("eps", 1e-7)) {
    const float eps = static_cast<float>(eps_);  // what the primitives use
    if (!(eps >= FLT_MIN && eps <= FLT_MAX))
      a.fail("eps", "must be a positive number (it keeps the gradient finite at a == b), got " + std::to_string(eps_));
  }

  Shape infer(const std::vector<Shape>& in) override {
    require_equal_vectors("euclidean_distance", in);
    return {1};
  }

  memory::desc plan(PlanContext& ctx) override {
    impls_.clear();
    const int64_t n = ctx.batch, width = ctx.input_shapes.at(0).at(0);
    const memory::desc md = plain_desc({n, width}), dst = plain_desc({n, 1}), one = plain_desc({1, 1});
    ctx.inputs[0] = ctx.inputs[1] = md;
    square_buf_ = Tensor(md, ctx.engine);

    auto spd = binary_pd(ctx.engine, algorithm::binary_sub, md, md, md, with_eltwise(algorithm::eltwise_square));
    note(ctx, impls_, "euclidean_distance: forward squares", spd);
    squares_.primitive = dnnl::binary(spd);
    dnnl::post_ops root;
    root.append_eltwise(1.f, algorithm::eltwise_clip, static_cast<float>(eps_), FLT_MAX);
    root.append_eltwise(1.f, algorithm::eltwise_sqrt, 0.f, 0.f);
    dnnl::primitive_attr root_attr;
    root_attr.set_post_ops(root);
    dnnl::reduction::primitive_desc rpd(dnnl::reduction::desc(algorithm::reduction_sum, md, dst, 0.f, 0.f), root_attr,
                                        ctx.engine);
    note(ctx, impls_, "euclidean_distance: forward norm", rpd);
    norm_.primitive = dnnl::reduction(rpd);

    want_a_ = wants_grad(ctx, 0);
    want_b_ = wants_grad(ctx, 1);
    diff_ = scale_ = grad_a_ = grad_b_ = Step{};
    if (want_a_ || want_b_) {
      auto dpd = binary_pd(ctx.engine, algorithm::binary_sub, md, md, md);
      note(ctx, impls_, "euclidean_distance: backward difference", dpd);
      diff_.primitive = dnnl::binary(dpd);
      threshold_ = Tensor(one, ctx.engine);
      threshold_.fill(std::sqrt(static_cast<float>(eps_)));
      scale_buf_ = Tensor(dst, ctx.engine);
      dnnl::post_ops ops;
      ops.append_binary(algorithm::binary_mul, dst);  // * g
      ops.append_binary(algorithm::binary_div, dst);  // / d
      dnnl::primitive_attr attr;
      attr.set_post_ops(ops);
      auto kpd = binary_pd(ctx.engine, algorithm::binary_gt, dst, one, dst, attr);
      note(ctx, impls_, "euclidean_distance: backward scale", kpd);
      scale_.primitive = dnnl::binary(kpd);
    }
    if (want_a_) {
      auto pd = binary_pd(ctx.engine, algorithm::binary_mul, md, dst, md);
      note(ctx, impls_, "euclidean_distance: backward a", pd);
      grad_a_.primitive = dnnl::binary(pd);
    }
    if (want_b_) {
      auto pd = binary_pd(ctx.engine, algorithm::binary_mul, md, dst, md,
                          with_eltwise(algorithm::eltwise_linear, -1.f));
      note(ctx, impls_, "euclidean_distance: backward b", pd);
      grad_b_.primitive = dnnl::binary(pd);
    }
    return dst;
  }

  void bind(const Bindings& b) override {
    Node::bind(b);
    squares_.args = {{DNNL_ARG_SRC_0, in(0).memory()}, {DNNL_ARG_SRC_1, in(1).memory()},
                     {DNNL_ARG_DST, square_buf_.memory()}};
    norm_.args = {{DNNL_ARG_SRC, square_buf_.memory()}, {DNNL_ARG_DST, out().memory()}};
    diff_.args.clear();
    scale_.args.clear();
    grad_a_.args.clear();
    grad_b_.args.clear();
    if (!b.output_grad || (!in_grad(0) && !in_grad(1))) return;
    if ((in_grad(0) && !want_a_) || (in_grad(1) && !want_b_))
      throw Error("euclidean_distance: input gradient bound, but planned without one");
    // The squares are spent once forward has reduced them: their buffer holds a - b now.
    const memory& diff = square_buf_.memory();
    diff_.args = {{DNNL_ARG_SRC_0, in(0).memory()}, {DNNL_ARG_SRC_1, in(1).memory()}, {DNNL_ARG_DST, diff}};
    const memory& k = scale_buf_.memory();
    scale_.args = {{DNNL_ARG_SRC_0, out().memory()},
                   {DNNL_ARG_SRC_1, threshold_.memory()},
                   {DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, out_grad().memory()},
                   {DNNL_ARG_ATTR_MULTIPLE_POST_OP(1) | DNNL_ARG_SRC_1, out().memory()},
                   {DNNL_ARG_DST, k}};
    if (in_grad(0))
      grad_a_.args = {{DNNL_ARG_SRC_0, diff}, {DNNL_ARG_SRC_1, k}, {DNNL_ARG_DST, in_grad(0)->memory()}};
    if (in_grad(1))
      grad_b_.args = {{DNNL_ARG_SRC_0, diff}, {DNNL_ARG_SRC_1, k}, {DNNL_ARG_DST, in_grad(1)->memory()}};
  }

  void forward(ExecContext& ctx) override {
    squares_.run(ctx.stream);
    norm_.run(ctx.stream);
  }

  // Uses the distance of the preceding forward.
  void backward(ExecContext& ctx) override {
    if (scale_.args.empty()) return;
    diff_.run(ctx.stream);
    scale_.run(ctx.stream);
    if (!grad_a_.args.empty()) grad_a_.run(ctx.stream);
    if (!grad_b_.args.empty()) grad_b_.run(ctx.stream);
  }

  std::vector<std::string> implementations() const override { return impls_; }

 private:
  double eps_;
  bool want_a_ = false, want_b_ = false;
  Step squares_, norm_, diff_, scale_, grad_a_, grad_b_;
  Tensor square_buf_, scale_buf_, threshold_;
  std::vector<std::string> impls_;
};

}  // namespace

OpInfo euclidean_distance_op() {
  OpInfo op;
  op.name = "euclidean_distance";
  op.batch_mixing = BatchMixing::none;
  op.description = "Per-sample distance sqrt(max(sum((a - b)^2), eps)) of two rank-1 inputs, output [1]; "
                   "its gradient is 0 (finite) where the sum is at most eps";
  op.min_inputs = op.max_inputs = 2;
  op.attrs = {{"eps", "1e-7", "lower clamp of the squared distance (Keras epsilon), > 0"}};
  op.make = [](const Attributes& a) { return std::make_unique<EuclideanDistance>(a); };
  return op;
}

}  // namespace graphrun::merge
