// conv2d: 2-D convolution with Keras Conv2D semantics (valid/same padding, strides, bias,
// activation) on per-sample [channels, height, width] tensors. This file is the node and
// its dispatch to the implementations (conv2d.hpp); the activation runs as every op's
// does (common/activation_run.hpp), unless it is fused into the convolution's store.
#include "conv2d.hpp"

namespace graphrun::conv {

using tag = memory::format_tag;

Conv2d::Conv2d(const Attributes& a)
    : filters_(a.integer("filters")),
      kernel_(positive_pair(a, "kernel_size", {})),
      strides_(positive_pair(a, "strides", {1, 1})),
      same_(a.choice("padding", "valid", {"valid", "same"}) == "same"),
      use_bias_(a.boolean("use_bias", true)),
      activation_(read_activation(a, "activation", "linear",
                                  {Activation::linear, Activation::relu, Activation::sigmoid, Activation::tanh})),
      layout_(a.choice("layout", "auto", {"auto", "nchw", "nhwc", "blocked"})),
      algorithm_(a.choice("algorithm", "auto", {"auto", "direct", "winograd"})),
      forced_(a.choice("implementation", "auto", kImplementationChoices)),
      forced_data_(a.choice("data_gradient", "auto", kDataGradientChoices)) {
  if (filters_ <= 0) a.fail("filters", "must be positive, got " + std::to_string(filters_));
}

Shape Conv2d::infer(const std::vector<Shape>& inputs) {
  const Shape& in = inputs.at(0);
  if (in.size() != 3)
    throw Error("conv2d expects a per-sample [channels, height, width] input, got " + to_string(in));
  in_ = in;
  wh_ = keras_window(in[1], kernel_[0], strides_[0], same_);
  ww_ = keras_window(in[2], kernel_[1], strides_[1], same_);
  if (wh_.out <= 0 || ww_.out <= 0)
    throw Error("conv2d: input " + to_string(in) + " is smaller than the kernel " + to_string(kernel_) +
                " (padding valid)");
  return {filters_, wh_.out, ww_.out};
}

std::vector<ParamSpec> Conv2d::params(const std::vector<Shape>& inputs) const {
  const int64_t in_c = inputs.at(0).at(0), area = kernel_[0] * kernel_[1];
  std::vector<ParamSpec> p;
  ParamSpec kernel("kernel", {filters_, in_c, kernel_[0], kernel_[1]});
  kernel.default_init = "glorot_uniform";
  kernel.fan_in = in_c * area;  // Keras: receptive field size times channels
  kernel.fan_out = filters_ * area;
  p.push_back(kernel);
  if (use_bias_) p.push_back(ParamSpec("bias", {filters_}));
  return p;
}

memory::desc Conv2d::plan(PlanContext& ctx) {
  const dnnl::engine& eng = ctx.engine;
  const memory::desc producer = ctx.inputs.at(0);
  const memory::dims src_dims{ctx.batch, in_[0], in_[1], in_[2]};
  const memory::dims dst_dims{ctx.batch, filters_, wh_.out, ww_.out};
  if (producer.dims() != src_dims)
    throw Error("conv2d: planned input dims do not match the inferred shape " + to_string(in_));
  const bool need_data = ctx.needs_input_grad.at(0);
  const bool need_weights = ctx.needs_param_grad;
  geometry_ = {ctx.batch, filters_, in_[1], in_[2], wh_.out, ww_.out, kernel_[0], kernel_[1],
               strides_[0], strides_[1], wh_.pad_l, ww_.pad_l};
  compute_ = ctx.compute;
  if (compute_ != memory::data_type::f32 && compute_ != memory::data_type::bf16)
    throw Error("conv2d: computes in f32 or bf16 only");
  const bool bf16 = compute_ == memory::data_type::bf16;
  if (bf16 && algorithm_ == "winograd")
    throw Error("conv2d: algorithm: winograd has no bf16 kernels (the model computes in bf16); use algorithm: auto "
                "or direct");
  layer_ = {in_[0], filters_, geometry_, layout_, algorithm_, bf16};
  weights_fixed_ = !need_weights;
  derived_ = ctx.derived;
  // The epilogue offer, after a linear output: a per-channel affine map at inference
  // (a frozen batch_norm) folded into the kernel and bias, its activation or a pointwise
  // node's becoming this node's.
  const std::vector<EpilogueStage>& offer = ctx.epilogue;
  size_t taken = 0;
  affine_source_ = nullptr;
  applied_ = activation_;
  if (taken < offer.size() && applied_ == Activation::linear && offer[taken].what.kind == Fusion::Kind::channel_affine) {
    affine_source_ = offer[taken].affine;
    applied_ = offer[taken++].what.activation;
  }
  if (taken < offer.size() && applied_ == Activation::linear && offer[taken].what.kind == Fusion::Kind::pointwise)
    applied_ = offer[taken++].what.activation;
  ctx.absorbed = taken;
  impl_ = choose_forward(layer_, forced_, forced_data_, [&] { return onednn_winograd(src_dims, dst_dims, eng); });
  std::optional<Impl> data;
  if (need_data) data = choose_data_gradient(layer_, impl_, forced_data_);
  // A 2x2 max pool (stride 2) after that is computed in the same pass by the blocked
  // kernels, frozen: the full-size map never goes to memory.
  pooled_ = impl_ == Impl::one_channel_blocked && taken < offer.size() &&
            offer[taken].what.kind == Fusion::Kind::pooling &&
            (applied_ == Activation::relu || applied_ == Activation::linear) && pools_2x2(offer[taken].what.window);
  if (pooled_) ctx.absorbed += 1;
  if (impl_ == Impl::winograd) plan_winograd(ctx);
  winograd_sources_ = {};

  // The layouts: graphrun's kernels have theirs (relu applied at the store), oneDNN's
  // are searched for.
  Passes p;
  if (impl_ == Impl::winograd) {
    p.src = tagged(src_dims, tag::nhwc);
    p.dst = tagged(dst_dims, tag::nhwc);
    p.fused = applied_ == Activation::relu;
  } else if (impl_ == Impl::one_channel_blocked) {
    p.src = tagged(src_dims, tag::nchw);
    p.dst = tagged(dst_dims, blocked_filters(geometry_) == 16 ? tag::nChw16c : tag::nChw8c);
    p.fused = applied_ == Activation::relu;
  } else if (impl_ == Impl::one_channel) {
    p.src = tagged(src_dims, tag::nchw);
    p.dst = tagged(dst_dims, tag::nchw);
    p.fused = applied_ == Activation::relu && !need_data && !need_weights;
  } else {
    const bool dnnl_data = data == Impl::onednn || data == Impl::gemm;
    p = plan_onednn_layouts(src_dims, dst_dims, dnnl_data, need_weights, data == Impl::gemm, eng);
  }
  if (data) {
    const bool plain_src = p.src == tagged(src_dims, tag::nchw) || p.src == tagged(src_dims, tag::nhwc);
    const bool nhwc_both = p.src == tagged(src_dims, tag::nhwc) && p.dst == tagged(dst_dims, tag::nhwc);
    data = confirm_data_gradient(layer_, *data, forced_data_, plain_src, nhwc_both);
    if (data == Impl::onednn && !p.bwd_data) {  // oneDNN's data gradient after another forward
      std::optional<Passes> with_data =
          try_layout(p.src, p.dst, true, need_weights && impl_ == Impl::onednn, false, eng);
      if (!with_data) throw Error("conv2d: oneDNN offers no data gradient for input " + to_string(in_));
      if (impl_ == Impl::onednn) p = std::move(*with_data);
      else p.bwd_data = with_data->bwd_data;
    }
  }
  data_impl_ = data;

  impls_.clear();
  Note note = [&](const std::string& pass, const dnnl::primitive_desc_base& pd) {
    log_primitive(ctx.verbose, "conv2d: " + pass, pd);
    impls_.push_back(graphrun::impl_name(pd));
  };
  const memory::desc plain_w = plain_desc({filters_, in_[0], kernel_[0], kernel_[1]});
  w_fwd_ = {};
  fwd_ = {};
  if (impl_ == Impl::winograd) {
    for (auto [pass, runs] : {std::pair{"forward", true}, {"backward data", need_data}, {"backward weights", need_weights}})
      if (runs) {
        log_implementation(ctx.verbose, std::string("conv2d: ") + pass, kWinogradImpl);
        impls_.push_back(kWinogradImpl);
      }
    if (!ctx.output_extent.empty()) {  // the readers' part only (PlanContext::output_extent)
      const std::string part = "forward computes the " + to_string(ctx.output_extent) + " of " +
                               to_string(ctx.output_shape) + " its readers use";
      log_implementation(ctx.verbose, "conv2d: forward", part);
      impls_.push_back(part);
    }
  } else if (impl_ != Impl::onednn) {
    log_implementation(ctx.verbose, "conv2d: forward", own_impl());
    impls_.push_back(own_impl());
  } else {
    plan_onednn_forward(p, eng, note);
  }
  folded_w_ = folds_affine() ? derived_->buffer("folded kernel", plain_w) : memory();
  folded_b_ = folds_affine() ? derived_->buffer("folded bias", memory::desc({filters_}, memory::data_type::f32, tag::x))
                             : memory();
  plan_activation(p, need_data || need_weights, eng, ctx.verbose);

  bwd_data_ = {};
  w_bwd_data_ = {};
  reuse_fwd_weights_ = false;
  if (data_impl_ == Impl::gemm) plan_gemm_data_gradient(ctx.verbose);
  else if (data_impl_ == Impl::onednn) plan_onednn_data_gradient(p, eng, note);
  dz_to_plain_ = {};
  dz_plain_ = {};
  if (data_impl_ == Impl::one_channel) plan_one_channel_data_gradient(p.dst, dst_dims, eng, ctx.verbose, note);

  bwd_weights_ = {};
  dw_ = {};
  own_weights_ = (impl_ == Impl::one_channel || impl_ == Impl::one_channel_blocked) && need_weights;
  if (own_weights_) {
    log_implementation(ctx.verbose, "conv2d: backward weights", own_impl());
    impls_.push_back(own_impl());
  }
  if (p.bwd_weights) plan_onednn_weight_gradient(p, eng, note);

  // bf16: oneDNN's primitives read bf16 copies of the input and of the gradient (bf16 runs
  // oneDNN's implementation only, so the layouts are oneDNN's).
  src_copy_ = {};
  dz_copy_ = {};
  if (bf16) {
    src_copy_.plan(p.src, p.src_compute, eng, "input to bf16 reorder", note);
    if (p.bwd_data || p.bwd_weights) dz_copy_.plan(p.dst, p.dst_compute, eng, "gradient to bf16 reorder", note);
  }
  ctx.inputs[0] = p.src;
  return p.dst;
}

// Activations: y = act(z) in place on the output; backward needs only y (use_dst).
void Conv2d::plan_activation(const Passes& p, bool training, const dnnl::engine& eng, bool verbose) {
  act_fwd_ = act_bwd_ = activation::Planned();
  dz_ = {};
  if (applied_ == Activation::linear) return;
  if (!p.fused) {
    act_fwd_ = activation::plan_forward(applied_, p.dst, 1, eng, verbose, "conv2d: activation forward");
    impls_.push_back(act_fwd_.impl());
  }
  if (training) {
    act_bwd_ = activation::plan_backward(applied_, p.dst, 1, eng, verbose, "conv2d: activation backward");
    impls_.push_back(act_bwd_.impl());
    dz_ = memory(p.dst, eng);
  }
}

void Conv2d::bind(const Bindings& b) {
  b_ = b;
  if (pooled_ && out().dims() != memory::dims{geometry_.batch, filters_, wh_.out / 2, ww_.out / 2})
    throw Error("conv2d: the max pool folded into it planned an output of dims it does not compute");
  if (pooled_ && out().desc() != tagged(out().dims(), blocked_filters(geometry_) == 16 ? tag::nChw16c : tag::nChw8c))
    throw Error("conv2d: the max pool folded into it planned an output layout it does not write");
  if (b.input_grads.at(0) && !data_impl_) throw Error("conv2d: an input gradient is bound but was not planned");
  if (!b.param_grads.empty() && b.param_grads[0] && !bwd_weights_ && !own_weights_ && impl_ != Impl::winograd)
    throw Error("conv2d: parameter gradients are bound but were not planned");
  memory src = in(0).memory(), dst = out().memory();
  memory w_fwd = w_fwd_.copy ? w_fwd_.mem : folds_affine() ? folded_w_ : param(0).memory();
  fwd_args_ = {{DNNL_ARG_SRC, src_copy_.read(src)}, {DNNL_ARG_WEIGHTS, w_fwd}, {DNNL_ARG_DST, dst}};
  if (folds_affine()) fwd_args_[DNNL_ARG_BIAS] = folded_b_;
  else if (use_bias_) fwd_args_[DNNL_ARG_BIAS] = param(1).memory();
  act_fwd_args_ = act_fwd_ ? act_fwd_.forward_args(dst, dst) : ArgMap{};

  if (!b.output_grad) return;  // backward will not run
  memory dy = out_grad().memory();
  memory dz = act_bwd_ ? dz_ : dy;
  act_bwd_args_ = act_bwd_ ? act_bwd_.backward_args(dst, dy, dz) : ArgMap{};
  dz_ready_ = dz;
  dz_for_data_ = dz_plain_ ? dz_plain_ : dz;
  if (dz_plain_) dz_plain_args_ = {{DNNL_ARG_FROM, dz}, {DNNL_ARG_TO, dz_plain_}};
  bind_onednn(src_copy_.read(src), dz_copy_.read(dz));
}

void Conv2d::forward(ExecContext& ctx) {
  stage_forward_weights(ctx.stream);
  if (impl_ == Impl::winograd) run_winograd_forward(ctx);
  else if (impl_ == Impl::one_channel) run_one_channel_forward(ctx);
  else if (impl_ == Impl::one_channel_blocked) run_one_channel_blocked_forward(ctx);
  else {
    src_copy_.run(ctx.stream, in(0).memory());
    fwd_.execute(ctx.stream, fwd_args_);
  }
  if (act_fwd_) act_fwd_.execute(ctx.stream, act_fwd_args_);
}

void Conv2d::backward(ExecContext& ctx) {
  if (!b_.output_grad) return;
  const bool want_data = in_grad(0) != nullptr;
  const bool want_weights = !b_.param_grads.empty() && param_grad(0) != nullptr;
  if (!want_data && !want_weights) return;
  if (act_bwd_) act_bwd_.execute(ctx.stream, act_bwd_args_);
  if (impl_ == Impl::winograd) return run_winograd_backward(ctx, want_data, want_weights);
  dz_copy_.run(ctx.stream, dz_ready_);
  if (want_data && data_impl_ == Impl::one_channel) {
    run_one_channel_data_gradient(ctx);
  } else if (want_data && data_impl_ == Impl::gemm) {
    run_gemm_data_gradient(ctx);
  } else if (want_data) {
    if (!reuse_fwd_weights_ && w_bwd_data_.copy)
      w_bwd_data_.reorder.execute(ctx.stream, param(0).memory(), w_bwd_data_.mem);
    bwd_data_.execute(ctx.stream, bwd_data_args_);
  }
  if (want_weights && impl_ == Impl::one_channel) {
    run_one_channel_weight_gradient(ctx);
  } else if (want_weights && impl_ == Impl::one_channel_blocked) {
    run_one_channel_blocked_weight_gradient(ctx);
  } else if (want_weights) {
    bwd_weights_.execute(ctx.stream, bwd_weights_args_);
    if (dw_.copy) dw_.reorder.execute(ctx.stream, dw_.mem, param_grad(0)->memory());
  }
}

// The kernel and bias the forward pass of graphrun's kernels reads: the parameters, or
// them with a folded batch_norm.
const float* Conv2d::forward_weights() const {
  return folds_affine() ? static_cast<const float*>(folded_w_.get_data_handle()) : param(0).data();
}
const float* Conv2d::forward_bias() const {
  return folds_affine() ? static_cast<const float*>(folded_b_.get_data_handle()) : use_bias_ ? param(1).data() : nullptr;
}

OpInfo conv2d_op() {
  OpInfo op;
  op.name = "conv2d";
  op.batch_mixing = BatchMixing::none;
  op.description = "2-D convolution (Keras Conv2D) on [channels, height, width]";
  op.attrs = {{"filters", "", "number of output channels"},
              {"kernel_size", "", "n or [height, width]"},
              {"strides", "1", "n or [height, width]"},
              {"padding", "valid", "valid or same (Keras semantics, extra pixel right/bottom)"},
              {"use_bias", "true", "add a bias per filter"},
              {"activation", "linear", "linear, relu, sigmoid or tanh"},
              {"layout", "auto", "oneDNN's layout: auto (chosen per layer, avoiding reference kernels), nchw, nhwc or blocked"},
              {"algorithm", "auto", "oneDNN's algorithm: auto, direct or winograd (3x3, stride 1, 16+ channels each side)"},
              {"implementation", "auto",
               "forward and weight gradient: auto, onednn, one_channel (one input channel, stride 1), "
               "one_channel_blocked (one input channel, 3x3, stride 1, filters a multiple of the vector width) "
               "or winograd (graphrun's F(2x2, 3x3): 3x3, stride 1, every pass)"},
              {"data_gradient", "auto",
               "auto, onednn, one_channel (one input channel), winograd (with implementation winograd) or gemm "
               "(oneDNN forward on channels-last data, stride 1, no padding)"},
              {"kernel_initializer", "glorot_uniform", "initialiser of kernel [filters, in_channels, kh, kw]"},
              {"bias_initializer", "zeros", "initialiser of bias [filters]"},
              {"kernel_l2", "0", "L2 factor of the kernel"},
              {"bias_l2", "0", "L2 factor of the bias"}};
  op.make = [](const Attributes& a) { return std::make_unique<Conv2d>(a); };
  return op;
}

}  // namespace graphrun::conv
