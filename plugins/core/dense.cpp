// dense: y = f(x W^T + b) with W of dims {units, in} (oneDNN "oi", as PyTorch's Linear).
// relu/sigmoid/tanh are fused into the inner product as a post-op; softmax runs after
// it in place. Backward first turns dL/dy into dL/d(pre-activation) in a scratch buffer.
// A linear dense takes a pointwise node after it (an activation node) the same way.
// In bf16 (PlanContext::compute) the inner products read bf16 copies of x, W and dL/dy and
// write f32 (y, dL/dx, dL/dW, dL/db).
#include "common/activation_run.hpp"
#include "common/compute_copy.hpp"

#include <graphrun/error.hpp>
#include <graphrun/registry.hpp>

#include <omp.h>

namespace graphrun::core {
namespace {

using dnnl::memory;
using graphrun::activation::eltwise_algorithm;
using graphrun::activation::Planned;

class Dense : public Node {
 public:
  explicit Dense(const Attributes& a)
      : units_(a.integer("units")),
        fn_(read_activation(a, "activation", "linear",
                            {Activation::linear, Activation::relu, Activation::sigmoid, Activation::tanh, Activation::softmax})),
        use_bias_(a.boolean("use_bias", true)) {
    if (units_ <= 0) a.fail("units", "must be a positive integer, got " + std::to_string(units_));
  }

  Shape infer(const std::vector<Shape>& inputs) override {
    const Shape& s = inputs.at(0);
    if (s.size() != 1)
      throw Error("dense expects a rank-1 input per sample (e.g. [784]), got " + to_string(s) +
                  "; add a flatten node before it");
    return {units_};
  }

  std::vector<ParamSpec> params(const std::vector<Shape>& inputs) const override {
    const int64_t in = inputs.at(0).at(0);
    ParamSpec kernel("kernel", {units_, in}), bias("bias", {units_});
    kernel.default_init = "glorot_uniform";
    kernel.fan_in = bias.fan_in = in;
    kernel.fan_out = bias.fan_out = units_;
    std::vector<ParamSpec> specs{kernel};
    if (use_bias_) specs.push_back(bias);
    return specs;
  }

  memory::desc plan(PlanContext& ctx) override {
    const int64_t n = ctx.batch, in = ctx.input_shapes.at(0).at(0);
    const memory::desc src = plain_desc({n, in}), bias = use_bias_ ? plain_desc({units_}) : memory::desc(), dst = plain_desc({n, units_});
    if (ctx.compute != memory::data_type::f32 && ctx.compute != memory::data_type::bf16)
      throw Error("dense: computes in f32 or bf16 only");
    const memory::desc src_compute = with_data_type(src, ctx.compute), dst_compute = with_data_type(dst, ctx.compute);
    ctx.inputs[0] = src;
    engine_ = ctx.engine;
    dst_ = dst;
    impls_.clear();
    applied_ = fn_;
    if (fn_ == Activation::linear && !ctx.epilogue.empty() && ctx.epilogue[0].what.kind == Fusion::Kind::pointwise) {
      applied_ = ctx.epilogue[0].what.activation;
      ctx.absorbed = 1;
    }

    dnnl::primitive_attr attr;
    if (applied_ != Activation::linear && applied_ != Activation::softmax) {
      dnnl::post_ops ops;
      ops.append_eltwise(1.f, eltwise_algorithm(applied_, false), 0.f, 0.f);
      attr.set_post_ops(ops);
    }
    const bool backward = ctx.needs_param_grad || (!ctx.needs_input_grad.empty() && ctx.needs_input_grad[0]);
    const auto fwd_kind = backward ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
    // Forward lets oneDNN pick the kernel's weight layout (brgemm: 1.2-3x faster than gemm
    // on plain weights at R1-R4's sizes). On several threads a kernel still open to a layout
    // is kept in that one: no step reorders it (49 us of an R3 step for the 784 x 128 kernel)
    // and the backward passes run brgemm's blocked kernels (R3's 128 x 128 layers at 2
    // threads: 48 us each against gemm's 55 on plain weights). On one thread brgemm's
    // weight gradient was the slower (R3's first layer: 648 us against gemm's 499), so the
    // kernel stays plain and is copied into the forward's layout before each forward.
    const memory::desc any_weights({units_, in}, ctx.compute, memory::format_tag::any);
    auto fwd_desc = use_bias_ ? dnnl::inner_product_forward::desc(fwd_kind, src_compute, any_weights, bias, dst)
                              : dnnl::inner_product_forward::desc(fwd_kind, src_compute, any_weights, dst);
    dnnl::inner_product_forward::primitive_desc fwd_pd(fwd_desc, attr, ctx.engine);
    add(ctx, "dense: forward", fwd_pd);
    fwd_ = dnnl::inner_product_forward(fwd_pd);
    if (ctx.param_layout_open.at(0) && omp_get_max_threads() > 1)
      ctx.params[0] = ctx.compute == memory::data_type::f32 ? fwd_pd.weights_desc()
                                                            : gradient_layout(src_compute, bias, dst_compute, fwd_pd);
    const memory::desc weights = ctx.params.at(0);
    fwd_weights_ = {};
    to_fwd_weights_ = {};
    weights_fixed_ = !ctx.needs_param_grad;
    derived_ = ctx.derived;
    if (fwd_pd.weights_desc() != weights) {  // shared with the plans of other batch sizes
      fwd_weights_ = derived_->buffer("forward weights", fwd_pd.weights_desc());
      dnnl::reorder::primitive_desc pd(ctx.engine, weights, ctx.engine, fwd_pd.weights_desc());
      add(ctx, "dense: forward weights reorder", pd);
      to_fwd_weights_ = dnnl::reorder(pd);
    }

    softmax_ = act_bwd_ = Planned();
    if (applied_ == Activation::softmax) {
      softmax_ = activation::plan_forward(applied_, dst, 1, ctx.engine, ctx.verbose, "dense: softmax forward");
      impls_.push_back(softmax_.impl());
    }
    if (applied_ != Activation::linear && backward) {
      act_bwd_ = activation::plan_backward(applied_, dst, 1, ctx.engine, ctx.verbose, "dense: activation backward");
      impls_.push_back(act_bwd_.impl());
    }

    bwd_weights_ = dnnl::primitive();
    if (ctx.needs_param_grad) {
      auto d = use_bias_ ? dnnl::inner_product_backward_weights::desc(src_compute, weights, bias, dst_compute)
                         : dnnl::inner_product_backward_weights::desc(src_compute, weights, dst_compute);
      dnnl::inner_product_backward_weights::primitive_desc pd(d, ctx.engine, fwd_pd);
      add(ctx, "dense: backward weights", pd);
      bwd_weights_ = dnnl::inner_product_backward_weights(pd);
    }
    bwd_data_ = dnnl::primitive();
    if (!ctx.needs_input_grad.empty() && ctx.needs_input_grad[0]) {
      // On the forward's copy when there is one: blocked weights run the faster kernels.
      dnnl::inner_product_backward_data::desc d(src, fwd_pd.weights_desc(), dst_compute);
      dnnl::inner_product_backward_data::primitive_desc pd(d, ctx.engine, fwd_pd);
      add(ctx, "dense: backward data", pd);
      bwd_data_ = dnnl::inner_product_backward_data(pd);
    }
    const ComputeCopy::Note note = [&](const std::string& what, const dnnl::primitive_desc_base& pd) {
      add(ctx, "dense: " + what, pd);
    };
    src_copy_.plan(src, src_compute, ctx.engine, "input to bf16 reorder", note);
    dz_copy_ = {};
    if (backward) dz_copy_.plan(dst, dst_compute, ctx.engine, "gradient to bf16 reorder", note);
    return dst;
  }

  void bind(const Bindings& b) override {
    Node::bind(b);
    const memory src = src_copy_.read(in(0).memory());
    fwd_args_ = {{DNNL_ARG_SRC, src},
                 {DNNL_ARG_WEIGHTS, fwd_weights_ ? fwd_weights_ : param(0).memory()},
                 {DNNL_ARG_DST, out().memory()}};
    if (use_bias_) fwd_args_[DNNL_ARG_BIAS] = param(1).memory();
    softmax_args_ = softmax_ ? softmax_.forward_args(out().memory(), out().memory()) : ArgMap{};

    act_bwd_args_.clear();
    bwd_weights_args_.clear();
    bwd_data_args_.clear();
    want_weights_ = want_data_ = false;
    if (!b.output_grad) return;  // backward never runs

    memory diff_dst = out_grad().memory();
    if (applied_ != Activation::linear && !act_bwd_) throw Error("dense: an output gradient is bound but no backward was planned");
    if (act_bwd_) {
      pre_grad_ = Tensor(dst_, engine_);
      act_bwd_args_ = act_bwd_.backward_args(out().memory(), diff_dst, pre_grad_.memory());
      diff_dst = pre_grad_.memory();
    }
    dz_ = diff_dst;
    diff_dst = dz_copy_.read(diff_dst);

    Tensor* kernel_grad = param_grad(0);
    Tensor* bias_grad = use_bias_ ? param_grad(1) : nullptr;
    want_weights_ = kernel_grad || bias_grad;
    if (want_weights_) {
      if (!bwd_weights_) throw Error("dense: parameter gradients bound, but planned as frozen");
      // oneDNN computes both at once; a gradient nobody wants goes to a scratch buffer.
      if (!kernel_grad) kernel_grad = &(spare_kernel_grad_ = Tensor(param(0).desc(), engine_));
      if (use_bias_ && !bias_grad) bias_grad = &(spare_bias_grad_ = Tensor(param(1).desc(), engine_));
      bwd_weights_args_ = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, diff_dst},
                           {DNNL_ARG_DIFF_WEIGHTS, kernel_grad->memory()}};
      if (use_bias_) bwd_weights_args_[DNNL_ARG_DIFF_BIAS] = bias_grad->memory();
    }
    want_data_ = in_grad(0) != nullptr;
    if (want_data_) {
      if (!bwd_data_) throw Error("dense: input gradient bound, but planned without one");
      bwd_data_args_ = {{DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_WEIGHTS, fwd_weights_ ? fwd_weights_ : param(0).memory()},
                        {DNNL_ARG_DIFF_SRC, in_grad(0)->memory()}};
    }
  }

  void forward(ExecContext& ctx) override {
    // Fixed (frozen) weights are reordered only when their values change.
    if (to_fwd_weights_ && (!weights_fixed_ || derived_->changed("forward weights", fwd_weights_.get_desc(),
                                                                   {{param(0).data(), param(0).size()}})))
      to_fwd_weights_.execute(ctx.stream, param(0).memory(), fwd_weights_);
    src_copy_.run(ctx.stream, in(0).memory());
    fwd_.execute(ctx.stream, fwd_args_);
    if (softmax_) softmax_.execute(ctx.stream, softmax_args_);
  }

  void backward(ExecContext& ctx) override {
    if (!want_weights_ && !want_data_) return;
    if (act_bwd_) act_bwd_.execute(ctx.stream, act_bwd_args_);
    dz_copy_.run(ctx.stream, dz_);
    if (want_weights_) bwd_weights_.execute(ctx.stream, bwd_weights_args_);
    if (want_data_) bwd_data_.execute(ctx.stream, bwd_data_args_);
  }

  std::vector<std::string> implementations() const override { return impls_; }

 private:
  // In bf16 the forward's kernel layout (bf16 pairs interleaved) seen as f32 sends the f32
  // weight gradient to a reference kernel: the master kernel is kept in the layout that
  // gradient picks instead, and reordered into the forward's.
  memory::desc gradient_layout(const memory::desc& src, const memory::desc& bias, const memory::desc& dst,
                               const dnnl::inner_product_forward::primitive_desc& fwd_pd) const {
    const memory::desc any(fwd_pd.weights_desc().dims(), memory::data_type::f32, memory::format_tag::any);
    auto d = use_bias_ ? dnnl::inner_product_backward_weights::desc(src, any, bias, dst)
                       : dnnl::inner_product_backward_weights::desc(src, any, dst);
    return dnnl::inner_product_backward_weights::primitive_desc(d, engine_, fwd_pd).diff_weights_desc();
  }

  void add(const PlanContext& ctx, const std::string& what, const dnnl::primitive_desc_base& pd) {
    log_primitive(ctx.verbose, what, pd);
    impls_.push_back(impl_name(pd));
  }

  int64_t units_;
  Activation fn_;
  Activation applied_ = Activation::linear;  // fn_, or an absorbed pointwise node's
  bool use_bias_;
  dnnl::engine engine_;
  memory::desc dst_;
  dnnl::primitive fwd_, bwd_weights_, bwd_data_;
  Planned softmax_, act_bwd_;
  memory fwd_weights_;  // the kernel in the forward primitive's layout, when it is kept in another
  dnnl::reorder to_fwd_weights_;
  ComputeCopy src_copy_, dz_copy_;  // bf16 copies of x and of dL/d(pre-activation)
  memory dz_;                       // dL/d(pre-activation) in f32
  bool weights_fixed_ = false;
  DerivedWeights* derived_ = nullptr;
  ArgMap fwd_args_, softmax_args_, act_bwd_args_, bwd_weights_args_, bwd_data_args_;
  Tensor pre_grad_, spare_kernel_grad_, spare_bias_grad_;
  bool want_weights_ = false, want_data_ = false;
  std::vector<std::string> impls_;
};

}  // namespace

OpInfo dense_op() {
  OpInfo op;
  op.name = "dense";
  op.batch_mixing = BatchMixing::none;
  op.description = "Fully connected layer: activation(x W^T + b), kernel W of dims [units, in]; "
                   "needs a rank-1 input per sample (flatten first)";
  op.attrs = {
      {"units", "", "number of outputs (required, > 0)"},
      {"activation", "linear", "linear, relu, sigmoid, tanh or softmax"},
      {"use_bias", "true", "add a learned bias"},
      {"kernel_initializer", "glorot_uniform", "initialiser of the kernel"},
      {"bias_initializer", "zeros", "initialiser of the bias"},
      {"kernel_l2", "0", "L2 regularisation factor of the kernel"},
      {"bias_l2", "0", "L2 regularisation factor of the bias"},
  };
  op.make = [](const Attributes& a) { return std::make_unique<Dense>(a); };
  return op;
}

}  // namespace graphrun::core
