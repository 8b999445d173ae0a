// activation: an element-wise function (relu, sigmoid, tanh) in whatever layout the
// producer delivers, softmax along the last axis (plain layout), or linear (a copy).
// Backward uses only the output (the *_use_dst_for_bwd algorithms).
#include "activation_fns.hpp"

#include <graphrun/error.hpp>
#include <graphrun/registry.hpp>

namespace graphrun::core {
namespace {

class Activation : public Node {
 public:
  explicit Activation(const Attributes& a) : fn_(read_function(a, "function", "")) {}

  Shape infer(const std::vector<Shape>& inputs) override {
    const Shape& s = inputs.at(0);
    if (fn_ == Function::softmax && s.empty())
      throw Error("softmax needs at least one dimension per sample, got " + to_string(s));
    return s;
  }

  dnnl::memory::desc plan(PlanContext& ctx) override {
    dnnl::memory::desc data = ctx.inputs.at(0);
    int axis = 0;
    if (fn_ == Function::softmax) {
      Shape dims{ctx.batch};
      dims.insert(dims.end(), ctx.input_shapes[0].begin(), ctx.input_shapes[0].end());
      data = plain_desc(dims);
      ctx.inputs[0] = data;
      axis = static_cast<int>(dims.size()) - 1;
    }
    impls_.clear();
    fwd_ = bwd_ = Planned();
    if (fn_ == Function::linear) {
      dnnl::reorder::primitive_desc pd(ctx.engine, data, ctx.engine, data);
      log_primitive(ctx.verbose, "activation: copy", pd);
      impls_.push_back(impl_name(pd));
      fwd_ = bwd_ = Planned{dnnl::reorder(pd), impl_name(pd), {}};
      return data;
    }
    Planned f = plan_function_forward(fn_, data, axis, ctx.engine, ctx.verbose, "activation: forward");
    fwd_ = f;
    impls_.push_back(f.impl);
    if (!ctx.needs_input_grad.empty() && ctx.needs_input_grad[0]) {
      Planned b = plan_function_backward(fn_, data, axis, ctx.engine, ctx.verbose, "activation: backward");
      bwd_ = b;
      impls_.push_back(b.impl);
    }
    return data;
  }

  void bind(const Bindings& b) override {
    Node::bind(b);
    const bool copy = fn_ == Function::linear;
    fwd_args_ = {{copy ? DNNL_ARG_FROM : DNNL_ARG_SRC, in(0).memory()},
                 {copy ? DNNL_ARG_TO : DNNL_ARG_DST, out().memory()}};
    bwd_args_.clear();
    if (!in_grad(0) || !b.output_grad) return;
    if (!bwd_) throw Error("activation: input gradient bound, but planned without one");
    if (copy)
      bwd_args_ = {{DNNL_ARG_FROM, out_grad().memory()}, {DNNL_ARG_TO, in_grad(0)->memory()}};
    else
      bwd_args_ = {{DNNL_ARG_DST, out().memory()}, {DNNL_ARG_DIFF_DST, out_grad().memory()},
                   {DNNL_ARG_DIFF_SRC, in_grad(0)->memory()}};
  }

  void forward(ExecContext& ctx) override { fwd_.execute(ctx.stream, fwd_args_); }

  void backward(ExecContext& ctx) override {
    if (in_grad(0)) bwd_.execute(ctx.stream, bwd_args_);
  }

  std::vector<std::string> implementations() const override { return impls_; }

 private:
  Function fn_;
  Planned fwd_, bwd_;
  ArgMap fwd_args_, bwd_args_;
  std::vector<std::string> impls_;
};

}  // namespace

OpInfo activation_op() {
  OpInfo op;
  op.name = "activation";
  op.batch_mixing = BatchMixing::none;
  op.description = "Applies an activation function; softmax runs along the last axis";
  op.attrs = {{"function", "", "relu, sigmoid, tanh, softmax or linear (identity)"}};
  op.make = [](const Attributes& a) { return std::make_unique<Activation>(a); };
  return op;
}

}  // namespace graphrun::core
