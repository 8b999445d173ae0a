// activation: an element-wise function (relu, sigmoid, tanh) in whatever layout the
// producer delivers, softmax along the last axis (plain layout), or linear (a copy).
// Backward uses only the output (the *_use_dst_for_bwd algorithms). An element-wise
// function declares itself pointwise (Fusion), so a producer that can apply it at its
// store absorbs this node, as it would its own activation.
#include "common/activation_run.hpp"

#include <graphrun/error.hpp>
#include <graphrun/registry.hpp>

namespace graphrun::core {
namespace {

class ActivationNode : public Node {
 public:
  explicit ActivationNode(const Attributes& a)
      : fn_(read_activation(a, "function", "",
                            {Activation::linear, Activation::relu, Activation::sigmoid, Activation::tanh,
                             Activation::softmax})) {}

  Shape infer(const std::vector<Shape>& inputs) override {
    const Shape& s = inputs.at(0);
    if (fn_ == Activation::softmax && s.empty())
      throw Error("softmax needs at least one dimension per sample, got " + to_string(s));
    return s;
  }

  Fusion fusion() const override {
    Fusion f;
    if (fn_ != Activation::linear && is_pointwise(fn_)) {
      f.kind = Fusion::Kind::pointwise;
      f.activation = fn_;
    }
    return f;
  }

  dnnl::memory::desc plan(PlanContext& ctx) override {
    dnnl::memory::desc data = ctx.inputs.at(0);
    int axis = 0;
    if (fn_ == Activation::softmax) {
      Shape dims{ctx.batch};
      dims.insert(dims.end(), ctx.input_shapes[0].begin(), ctx.input_shapes[0].end());
      data = plain_desc(dims);
      ctx.inputs[0] = data;
      axis = static_cast<int>(dims.size()) - 1;
    }
    impls_.clear();
    fwd_ = bwd_ = activation::Planned();
    copy_ = {};
    if (fn_ == Activation::linear) {
      dnnl::reorder::primitive_desc pd(ctx.engine, data, ctx.engine, data);
      log_primitive(ctx.verbose, "activation: copy", pd);
      impls_.push_back(impl_name(pd));
      copy_ = dnnl::reorder(pd);
      return data;
    }
    fwd_ = activation::plan_forward(fn_, data, axis, ctx.engine, ctx.verbose, "activation: forward");
    impls_.push_back(fwd_.impl());
    if (!ctx.needs_input_grad.empty() && ctx.needs_input_grad[0]) {
      bwd_ = activation::plan_backward(fn_, data, axis, ctx.engine, ctx.verbose, "activation: backward");
      impls_.push_back(bwd_.impl());
    }
    return data;
  }

  void bind(const Bindings& b) override {
    Node::bind(b);
    if (copy_) fwd_args_ = {{DNNL_ARG_FROM, in(0).memory()}, {DNNL_ARG_TO, out().memory()}};
    else fwd_args_ = fwd_.forward_args(in(0).memory(), out().memory());
    bwd_args_.clear();
    if (!in_grad(0) || !b.output_grad) return;
    if (copy_)
      bwd_args_ = {{DNNL_ARG_FROM, out_grad().memory()}, {DNNL_ARG_TO, in_grad(0)->memory()}};
    else if (!bwd_)
      throw Error("activation: input gradient bound, but planned without one");
    else
      bwd_args_ = bwd_.backward_args(out().memory(), out_grad().memory(), in_grad(0)->memory());
  }

  void forward(ExecContext& ctx) override {
    if (copy_) copy_.execute(ctx.stream, fwd_args_);
    else fwd_.execute(ctx.stream, fwd_args_);
  }

  void backward(ExecContext& ctx) override {
    if (!in_grad(0)) return;
    if (copy_) copy_.execute(ctx.stream, bwd_args_);
    else bwd_.execute(ctx.stream, bwd_args_);
  }

  std::vector<std::string> implementations() const override { return impls_; }

 private:
  Activation fn_;
  activation::Planned fwd_, bwd_;
  dnnl::primitive copy_;  // linear
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
  op.make = [](const Attributes& a) { return std::make_unique<ActivationNode>(a); };
  return op;
}

}  // namespace graphrun::core
