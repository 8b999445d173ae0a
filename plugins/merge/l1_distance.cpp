// l1_distance: |a - b| element-wise (Koch et al.'s merge). Forward: binary sub with an
// abs post-op. Backward recomputes d = a - b into a scratch buffer (cheaper than a
// second forward primitive), then da = sign(d) * g via abs backward and db = -da.
// When only db is wanted, d = b - a instead, so that sign(d) * g is db directly.
#include "merge_util.hpp"

#include <graphrun/registry.hpp>

namespace graphrun::merge {
namespace {

using dnnl::algorithm;
using dnnl::memory;

class L1Distance : public Node {
 public:
  explicit L1Distance(const Attributes&) {}

  Shape infer(const std::vector<Shape>& in) override {
    require_equal_shapes("l1_distance", in);
    return in[0];
  }

  memory::desc plan(PlanContext& ctx) override {
    impls_.clear();
    const memory::desc md = plain_desc(with_batch(ctx.batch, ctx.output_shape));
    ctx.inputs[0] = ctx.inputs[1] = md;
    auto pd = binary_pd(ctx.engine, algorithm::binary_sub, md, md, md, with_eltwise(algorithm::eltwise_abs));
    note(ctx, impls_, "l1_distance: forward", pd);
    fwd_.primitive = dnnl::binary(pd);

    want_a_ = wants_grad(ctx, 0);
    want_b_ = wants_grad(ctx, 1);
    diff_ = sign_ = negate_ = Step{};
    diff_buf_ = Tensor();
    if (want_a_ || want_b_) {
      auto dpd = binary_pd(ctx.engine, algorithm::binary_sub, md, md, md);
      note(ctx, impls_, "l1_distance: backward difference", dpd);
      diff_.primitive = dnnl::binary(dpd);
      // The forward pd only serves as the backward's hint; it is never executed.
      dnnl::eltwise_forward::primitive_desc hint(
          dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_training, algorithm::eltwise_abs, md, 0.f, 0.f),
          ctx.engine);
      dnnl::eltwise_backward::primitive_desc spd(dnnl::eltwise_backward::desc(algorithm::eltwise_abs, md, md, 0.f, 0.f),
                                                 ctx.engine, hint);
      note(ctx, impls_, "l1_distance: backward sign", spd);
      sign_.primitive = dnnl::eltwise_backward(spd);
      diff_buf_ = Tensor(md, ctx.engine);
    }
    if (want_a_ && want_b_) {
      auto npd = scale_pd(ctx.engine, md, -1.f);
      note(ctx, impls_, "l1_distance: backward negate", npd);
      negate_.primitive = dnnl::eltwise_forward(npd);
    }
    return md;
  }

  void bind(const Bindings& b) override {
    Node::bind(b);
    fwd_.args = {{DNNL_ARG_SRC_0, in(0).memory()}, {DNNL_ARG_SRC_1, in(1).memory()}, {DNNL_ARG_DST, out().memory()}};
    diff_.args.clear();
    sign_.args.clear();
    negate_.args.clear();
    if (!b.output_grad || (!in_grad(0) && !in_grad(1))) return;
    if ((in_grad(0) && !want_a_) || (in_grad(1) && !want_b_))
      throw Error("l1_distance: input gradient bound, but planned without one");
    const bool a_first = in_grad(0) != nullptr;  // d = a - b, else d = b - a
    const memory& d = diff_buf_.memory();
    diff_.args = {{DNNL_ARG_SRC_0, in(a_first ? 0 : 1).memory()},
                  {DNNL_ARG_SRC_1, in(a_first ? 1 : 0).memory()},
                  {DNNL_ARG_DST, d}};
    const memory& first = (a_first ? in_grad(0) : in_grad(1))->memory();
    sign_.args = {{DNNL_ARG_SRC, d}, {DNNL_ARG_DIFF_DST, out_grad().memory()}, {DNNL_ARG_DIFF_SRC, first}};
    if (in_grad(0) && in_grad(1))
      negate_.args = {{DNNL_ARG_SRC, in_grad(0)->memory()}, {DNNL_ARG_DST, in_grad(1)->memory()}};
  }

  void forward(ExecContext& ctx) override { fwd_.run(ctx.stream); }

  void backward(ExecContext& ctx) override {
    if (diff_.args.empty()) return;
    diff_.run(ctx.stream);
    sign_.run(ctx.stream);
    if (!negate_.args.empty()) negate_.run(ctx.stream);
  }

  std::vector<std::string> implementations() const override { return impls_; }

 private:
  bool want_a_ = false, want_b_ = false;
  Step fwd_, diff_, sign_, negate_;
  Tensor diff_buf_;
  std::vector<std::string> impls_;
};

}  // namespace

OpInfo l1_distance_op() {
  OpInfo op;
  op.name = "l1_distance";
  op.batch_mixing = BatchMixing::none;
  op.description = "Element-wise absolute difference |a - b| of two inputs of equal shape (Koch et al.)";
  op.min_inputs = op.max_inputs = 2;
  op.make = [](const Attributes& a) { return std::make_unique<L1Distance>(a); };
  return op;
}

}  // namespace graphrun::merge
