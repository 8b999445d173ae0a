// subtract: a - b (R3 merges its two tower outputs this way). oneDNN binary sub forward;
// backward copies g into da (reorder) and writes db = -g (eltwise linear, alpha -1).
#include "merge_util.hpp"

#include <graphrun/registry.hpp>

namespace graphrun::merge {
namespace {

using dnnl::memory;

class Subtract : public Node {
 public:
  explicit Subtract(const Attributes&) {}

  Shape infer(const std::vector<Shape>& in) override {
    require_equal_shapes("subtract", in);
    return in[0];
  }

  memory::desc plan(PlanContext& ctx) override {
    impls_.clear();
    const memory::desc md = plain_desc(with_batch(ctx.batch, ctx.output_shape));
    ctx.inputs[0] = ctx.inputs[1] = md;
    auto pd = binary_pd(ctx.engine, dnnl::algorithm::binary_sub, md, md, md);
    note(ctx, impls_, "subtract: forward", pd);
    fwd_.primitive = dnnl::binary(pd);

    copy_.primitive = negate_.primitive = dnnl::primitive();
    if (wants_grad(ctx, 0)) {
      dnnl::reorder::primitive_desc rpd(ctx.engine, md, ctx.engine, md);
      note(ctx, impls_, "subtract: backward a", rpd);
      copy_.primitive = dnnl::reorder(rpd);
    }
    if (wants_grad(ctx, 1)) {
      auto npd = scale_pd(ctx.engine, md, -1.f);
      note(ctx, impls_, "subtract: backward b", npd);
      negate_.primitive = dnnl::eltwise_forward(npd);
    }
    return md;
  }

  void bind(const Bindings& b) override {
    Node::bind(b);
    fwd_.args = {{DNNL_ARG_SRC_0, in(0).memory()}, {DNNL_ARG_SRC_1, in(1).memory()}, {DNNL_ARG_DST, out().memory()}};
    copy_.args.clear();
    negate_.args.clear();
    if (!b.output_grad) return;
    if (in_grad(0)) {
      if (!copy_.primitive) throw Error("subtract: input gradient bound, but planned without one");
      copy_.args = {{DNNL_ARG_FROM, out_grad().memory()}, {DNNL_ARG_TO, in_grad(0)->memory()}};
    }
    if (in_grad(1)) {
      if (!negate_.primitive) throw Error("subtract: input gradient bound, but planned without one");
      negate_.args = {{DNNL_ARG_SRC, out_grad().memory()}, {DNNL_ARG_DST, in_grad(1)->memory()}};
    }
  }

  void forward(ExecContext& ctx) override { fwd_.run(ctx.stream); }

  void backward(ExecContext& ctx) override {
    if (!copy_.args.empty()) copy_.run(ctx.stream);
    if (!negate_.args.empty()) negate_.run(ctx.stream);
  }

  std::vector<std::string> implementations() const override { return impls_; }

 private:
  Step fwd_, copy_, negate_;
  std::vector<std::string> impls_;
};

}  // namespace

OpInfo subtract_op() {
  OpInfo op;
  op.name = "subtract";
  op.batch_mixing = BatchMixing::none;
  op.description = "Element-wise difference a - b of two inputs of equal shape";
  op.min_inputs = op.max_inputs = 2;
  op.make = [](const Attributes& a) { return std::make_unique<Subtract>(a); };
  return op;
}

}  // namespace graphrun::merge
