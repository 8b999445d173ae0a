// batch_norm: Keras BatchNormalization over the channels of [C, H, W] samples or the
// features of [D] samples (oneDNN sees the latter as N x D).
//
// What TF2 Keras does, and so what this node does:
// - train mode normalises with the batch mean and the BIASED batch variance;
// - moving = momentum * moving + (1 - momentum) * batch statistic, for mean and variance;
// - for 4-D inputs Keras runs the fused kernel, whose variance output fed to the moving
//   average is the UNBIASED one (times n / (n - 1), n = batch * H * W); 2-D inputs take the
//   non-fused path, which feeds the biased variance. So [C, H, W] nodes apply the Bessel
//   factor and [D] nodes do not;
// - eval mode normalises with the moving statistics (gradients treat them as constants:
//   diff_src = diff_dst * gamma / sqrt(moving_variance + epsilon)).
//
// `activation: relu` applies a relu to the output in the same oneDNN pass: the result of
// a separate activation node, with one pass over the data fewer each way.
#include <graphrun/error.hpp>
#include <graphrun/primitives.hpp>
#include <graphrun/registry.hpp>

#include <optional>

namespace graphrun::norm {
namespace {

using dnnl::memory;
using flags = dnnl::normalization_flags;
using bn_fwd = dnnl::batch_normalization_forward;
using bn_bwd = dnnl::batch_normalization_backward;

bool is_ref(const dnnl::primitive_desc_base& pd) { return std::string(pd.impl_info_str()).rfind("ref", 0) == 0; }

class BatchNorm : public Node {
 public:
  explicit BatchNorm(const Attributes& a)
      : momentum_(a.number("momentum", 0.99)),
        epsilon_(a.number("epsilon", 1e-3)),
        center_(a.boolean("center", true)),
        scale_(a.boolean("scale", true)),
        relu_(a.choice("activation", "linear", {"linear", "relu"}) == "relu") {
    if (!(momentum_ >= 0 && momentum_ <= 1)) a.fail("momentum", "must be in [0, 1], got " + std::to_string(momentum_));
    if (!(epsilon_ > 0)) a.fail("epsilon", "must be positive, got " + std::to_string(epsilon_));
  }

  Shape infer(const std::vector<Shape>& inputs) override {
    const Shape& in = inputs.at(0);
    if (in.size() != 1 && in.size() != 3)
      throw Error("batch_norm expects a per-sample [features] or [channels, height, width] input, got " +
                  to_string(in));
    in_ = in;
    return in;
  }

  std::vector<ParamSpec> params(const std::vector<Shape>& inputs) const override {
    const int64_t c = inputs.at(0).at(0);
    std::vector<ParamSpec> p;
    if (scale_) p.push_back({"gamma", {c}, "ones"});
    if (center_) p.push_back({"beta", {c}, "zeros"});
    ParamSpec mean{"moving_mean", {c}, "zeros"}, var{"moving_variance", {c}, "ones"};
    mean.kind = var.kind = ParamSpec::Kind::state;
    p.push_back(mean);
    p.push_back(var);
    return p;
  }

  memory::desc plan(PlanContext& ctx) override {
    const dnnl::engine& eng = ctx.engine;
    Shape full{ctx.batch};
    full.insert(full.end(), in_.begin(), in_.end());
    const memory::desc producer = ctx.inputs.at(0);
    if (producer.dims() != to_dims(full))
      throw Error("batch_norm: planned input dims do not match the inferred shape " + to_string(in_));
    need_data_ = ctx.needs_input_grad.at(0);
    need_params_ = ctx.needs_param_grad && (scale_ || center_);
    // Bessel factor of the moving variance, see the top of this file.
    const int64_t n = ctx.batch * (in_.size() == 3 ? in_[1] * in_[2] : 1);
    bessel_ = in_.size() == 3 && n > 1 ? double(n) / double(n - 1) : 1.0;

    // Channels layouts stay as the producer made them (blocked between convolutions);
    // nhwc and nchw are fallbacks should that layout only have a reference kernel.
    // [D] samples are viewed as N x D x 1 x 1 nhwc, the same bytes as plain N x D: that
    // reaches the jit kernel, 10-25x faster than the plain 2-D one (16 x 256, 64 x 4096).
    using tag = memory::format_tag;
    std::vector<memory::desc> layouts;
    if (in_.size() == 3) {
      layouts = {producer, memory::desc(to_dims(full), memory::data_type::f32, tag::nhwc),
                 memory::desc(to_dims(full), memory::data_type::f32, tag::nchw)};
    } else {
      io_ = plain_desc(full);
      layouts = {memory::desc({ctx.batch, in_[0], 1, 1}, memory::data_type::f32, tag::nhwc), io_};
    }
    std::optional<memory::desc> first_ok;
    bool found = false;
    for (const memory::desc& d : layouts) {
      try {
        make_pds(d, eng);
      } catch (const dnnl::error&) {
        continue;  // not implemented for this layout
      }
      if (!first_ok) first_ok = d;
      if ((found = !any_ref())) break;
    }
    if (!first_ok) throw Error("batch_norm: oneDNN offers no batch normalization for input " + to_string(in_));
    if (!found) make_pds(*first_ok, eng);  // nothing better than a reference kernel
    if (in_.size() == 3) io_ = data_;  // the framework's tensors are the primitives' own

    impls_.clear();
    auto note = [&](const std::string& pass, const dnnl::primitive_desc_base& pd) {
      log_primitive(ctx.verbose, "batch_norm: " + pass, pd);
      impls_.push_back(impl_name(pd));
    };
    fwd_train_ = bn_fwd(fwd_train_pd_);
    note("forward train", fwd_train_pd_);
    fwd_eval_ = bn_fwd(fwd_eval_pd_);
    note("forward eval", fwd_eval_pd_);
    bwd_train_ = {};
    bwd_eval_ = {};
    if (bwd_train_pd_) {
      bwd_train_ = bn_bwd(bwd_train_pd_);
      note("backward train", bwd_train_pd_);
      bwd_eval_ = bn_bwd(bwd_eval_pd_);
      note("backward eval", bwd_eval_pd_);
    }
    train_ws_ = relu_ ? memory(fwd_train_pd_.workspace_desc(), eng) : memory();
    eval_ws_ = relu_ && fwd_eval_pd_.workspace_desc().get_size() ? memory(fwd_eval_pd_.workspace_desc(), eng) : memory();
    batch_mean_ = memory(fwd_train_pd_.mean_desc(), eng);
    batch_var_ = memory(fwd_train_pd_.variance_desc(), eng);
    // diff_src is always computed by oneDNN: a scratch buffer when nobody wants it.
    scratch_diff_src_ = need_params_ && !need_data_ ? memory(data_, eng) : memory();
    engine_ = eng;
    ctx.inputs[0] = io_;
    return io_;
  }

  void bind(const Bindings& b) override {
    b_ = b;
    if (b.input_grads.at(0) && !need_data_) throw Error("batch_norm: an input gradient is bound but was not planned");
    size_t i = 0;
    memory gamma = scale_ ? param(i++).memory() : memory();
    memory beta = center_ ? param(i++).memory() : memory();
    moving_mean_ = &param(i++);
    moving_var_ = &param(i++);
    memory src = view(in(0)), dst = view(out());

    ArgMap common{{DNNL_ARG_SRC, src}};
    if (scale_) common[DNNL_ARG_SCALE] = gamma;
    if (center_) common[DNNL_ARG_SHIFT] = beta;
    fwd_train_args_ = common;
    fwd_train_args_.insert({{DNNL_ARG_DST, dst}, {DNNL_ARG_MEAN, batch_mean_}, {DNNL_ARG_VARIANCE, batch_var_}});
    fwd_eval_args_ = common;
    fwd_eval_args_.insert({{DNNL_ARG_DST, dst},
                           {DNNL_ARG_MEAN, moving_mean_->memory()},
                           {DNNL_ARG_VARIANCE, moving_var_->memory()}});
    if (train_ws_) fwd_train_args_[DNNL_ARG_WORKSPACE] = train_ws_;
    if (eval_ws_) fwd_eval_args_[DNNL_ARG_WORKSPACE] = eval_ws_;
    if (!bwd_train_ || !b.output_grad) return;

    ArgMap bwd = common;
    bwd[DNNL_ARG_DIFF_DST] = view(out_grad());
    bwd[DNNL_ARG_DIFF_SRC] = in_grad(0) ? view(*in_grad(0)) : scratch_diff_src_;
    if (need_params_) {  // a frozen node gets no parameter gradients: write them to scratch
      size_t k = 0;
      auto grad_or_scratch = [&](size_t idx) {
        Tensor* g = idx < b.param_grads.size() ? b.param_grads[idx] : nullptr;
        return g ? g->memory() : memory(param(idx).desc(), engine_);
      };
      if (scale_) bwd[DNNL_ARG_DIFF_SCALE] = grad_or_scratch(k++);
      if (center_) bwd[DNNL_ARG_DIFF_SHIFT] = grad_or_scratch(k++);
    }
    bwd_train_args_ = bwd;
    bwd_train_args_.insert({{DNNL_ARG_MEAN, batch_mean_}, {DNNL_ARG_VARIANCE, batch_var_}});
    bwd_eval_args_ = bwd;
    bwd_eval_args_.insert({{DNNL_ARG_MEAN, moving_mean_->memory()}, {DNNL_ARG_VARIANCE, moving_var_->memory()}});
    if (train_ws_) bwd_train_args_[DNNL_ARG_WORKSPACE] = train_ws_;
    if (eval_ws_) bwd_eval_args_[DNNL_ARG_WORKSPACE] = eval_ws_;
  }

  void forward(ExecContext& ctx) override {
    if (ctx.mode == Mode::eval) {
      fwd_eval_.execute(ctx.stream, fwd_eval_args_);
      return;
    }
    fwd_train_.execute(ctx.stream, fwd_train_args_);
    ctx.stream.wait();
    const float m = float(momentum_), batch_weight = float(1 - momentum_), var_weight = float((1 - momentum_) * bessel_);
    const auto* mean = static_cast<const float*>(batch_mean_.get_data_handle());
    const auto* var = static_cast<const float*>(batch_var_.get_data_handle());
    float* moving_mean = moving_mean_->data();
    float* moving_var = moving_var_->data();
    for (int64_t c = 0; c < in_[0]; ++c) {
      moving_mean[c] = m * moving_mean[c] + batch_weight * mean[c];
      moving_var[c] = m * moving_var[c] + var_weight * var[c];
    }
  }

  void backward(ExecContext& ctx) override {
    if (!bwd_train_ || !b_.output_grad || (!in_grad(0) && !need_params_)) return;
    if (ctx.mode == Mode::eval)
      bwd_eval_.execute(ctx.stream, bwd_eval_args_);
    else
      bwd_train_.execute(ctx.stream, bwd_train_args_);
  }

  std::vector<std::string> implementations() const override { return impls_; }

 private:
  // Primitive descriptors for one data layout (throws dnnl::error if unsupported).
  void make_pds(const memory::desc& d, const dnnl::engine& eng) {
    flags f = flags::none;
    if (scale_) f = f | flags::use_scale;
    if (center_) f = f | flags::use_shift;
    if (relu_) f = f | flags::fuse_norm_relu;
    const float eps = float(epsilon_);
    const bool backward = need_data_ || need_params_;
    fwd_train_pd_ = bn_fwd::primitive_desc({dnnl::prop_kind::forward_training, d, eps, f}, eng);
    // With a fused relu, backward needs the forward's workspace (the relu mask), which only
    // forward_training writes.
    const auto eval_prop = relu_ && backward ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
    fwd_eval_pd_ = bn_fwd::primitive_desc({eval_prop, d, eps, f | flags::use_global_stats}, eng);
    bwd_train_pd_ = {};
    bwd_eval_pd_ = {};
    if (backward) {
      const auto prop = need_params_ ? dnnl::prop_kind::backward : dnnl::prop_kind::backward_data;
      bwd_train_pd_ = bn_bwd::primitive_desc({prop, d, d, eps, f}, eng, fwd_train_pd_);
      bwd_eval_pd_ = bn_bwd::primitive_desc({prop, d, d, eps, f | flags::use_global_stats}, eng, fwd_eval_pd_);
    }
    data_ = d;
  }

  // A bound tensor as the primitives see it (a 4-D view of a [D] batch).
  memory view(const Tensor& t) const {
    if (io_ == data_) return t.memory();
    return memory(data_, engine_, const_cast<float*>(t.data()));
  }

  bool any_ref() const {
    return is_ref(fwd_train_pd_) || is_ref(fwd_eval_pd_) || (bwd_train_pd_ && is_ref(bwd_train_pd_)) ||
           (bwd_eval_pd_ && is_ref(bwd_eval_pd_));
  }

  double momentum_, epsilon_;
  bool center_, scale_;
  bool relu_;  // relu fused into the normalisation (oneDNN fuse_norm_relu)
  Shape in_;
  bool need_data_ = false, need_params_ = false;
  double bessel_ = 1;
  memory::desc data_;  // what the primitives see
  memory::desc io_;    // what the framework allocates: data_, or plain N x D for [D]
  dnnl::engine engine_;
  bn_fwd::primitive_desc fwd_train_pd_, fwd_eval_pd_;
  bn_bwd::primitive_desc bwd_train_pd_, bwd_eval_pd_;
  bn_fwd fwd_train_, fwd_eval_;
  bn_bwd bwd_train_, bwd_eval_;
  memory batch_mean_, batch_var_, scratch_diff_src_;
  memory train_ws_, eval_ws_;  // relu masks of the fused activation
  Tensor* moving_mean_ = nullptr;
  Tensor* moving_var_ = nullptr;
  ArgMap fwd_train_args_, fwd_eval_args_, bwd_train_args_, bwd_eval_args_;
  std::vector<std::string> impls_;
};

}  // namespace

OpInfo batch_norm_op() {
  OpInfo op;
  op.name = "batch_norm";
  op.batch_mixing = BatchMixing::in_training;
  op.description = "Batch normalisation (Keras BatchNormalization) per channel of [C, H, W] or per feature of [D]";
  op.attrs = {{"momentum", "0.99", "moving = momentum * moving + (1 - momentum) * batch statistic"},
              {"epsilon", "0.001", "added to the variance"},
              {"center", "true", "learn an offset beta"},
              {"scale", "true", "learn a factor gamma"},
              {"activation", "linear", "linear, or relu applied to the output in the same pass"},
              {"gamma_initializer", "ones", "initialiser of gamma [C]"},
              {"beta_initializer", "zeros", "initialiser of beta [C]"},
              {"moving_mean_initializer", "zeros", "initialiser of moving_mean [C]"},
              {"moving_variance_initializer", "ones", "initialiser of moving_variance [C]"},
              {"gamma_l2", "0", "L2 factor of gamma"},
              {"beta_l2", "0", "L2 factor of beta"}};
  op.make = [](const Attributes& a) { return std::make_unique<BatchNorm>(a); };
  return op;
}

}  // namespace graphrun::norm
