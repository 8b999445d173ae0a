// batch_norm (batch_norm.hpp): attributes, parameters, and the plan: which layout reaches
// oneDNN's jit kernels, the primitives of each mode, the statistics of each use.
#include "batch_norm.hpp"

#include <cmath>

namespace graphrun::norm {

BatchNorm::BatchNorm(const Attributes& a)
    : momentum_(a.number("momentum", 0.99)),
      epsilon_(a.number("epsilon", 1e-3)),
      center_(a.boolean("center", true)),
      scale_(a.boolean("scale", true)),
      own_relu_(read_activation(a, "activation", "linear", {Activation::linear, Activation::relu}) ==
                Activation::relu) {
  if (!(momentum_ >= 0 && momentum_ <= 1)) a.fail("momentum", "must be in [0, 1], got " + std::to_string(momentum_));
  if (!(epsilon_ > 0)) a.fail("epsilon", "must be positive, got " + std::to_string(epsilon_));
}

Shape BatchNorm::infer(const std::vector<Shape>& inputs) {
  const Shape& in = inputs.at(0);
  if (in.size() != 1 && in.size() != 3)
    throw Error("batch_norm expects a per-sample [features] or [channels, height, width] input, got " +
                to_string(in));
  in_ = in;
  return in;
}

std::vector<ParamSpec> BatchNorm::params(const std::vector<Shape>& inputs) const {
  const int64_t c = inputs.at(0).at(0);
  std::vector<ParamSpec> p;
  ParamSpec gamma("gamma", {c}), beta("beta", {c}), mean("moving_mean", {c}), var("moving_variance", {c});
  gamma.default_init = var.default_init = "ones";
  mean.kind = var.kind = ParamSpec::Kind::state;
  if (scale_) p.push_back(gamma);
  if (center_) p.push_back(beta);
  p.push_back(mean);
  p.push_back(var);
  return p;
}

memory::desc BatchNorm::plan(PlanContext& ctx) {
  const dnnl::engine& eng = ctx.engine;
  Shape full{ctx.batch};
  full.insert(full.end(), in_.begin(), in_.end());
  const memory::desc producer = ctx.inputs.at(0);
  if (producer.dims() != to_dims(full))
    throw Error("batch_norm: planned input dims do not match the inferred shape " + to_string(in_));
  // A relu node after a linear batch_norm runs in the same pass (oneDNN fuse_norm_relu).
  relu_ = own_relu_;
  if (!relu_ && !ctx.epilogue.empty() && ctx.epilogue[0].what.kind == Fusion::Kind::pointwise &&
      ctx.epilogue[0].what.activation == Activation::relu) {
    relu_ = true;
    ctx.absorbed = 1;
  }
  need_data_ = ctx.needs_input_grad.at(0);
  need_params_ = ctx.needs_param_grad && (scale_ || center_);
  groups_ = ctx.batch_groups;
  if (groups_ < 1 || ctx.batch % groups_ != 0)
    throw Error("batch_norm: a batch of " + std::to_string(ctx.batch) + " cannot be split into " +
                std::to_string(groups_) + " groups");
  // Bessel factor of the moving variance, see the top of this file.
  const int64_t n = ctx.batch / groups_ * (in_.size() == 3 ? in_[1] * in_[2] : 1);
  groups_as_channels_ = groups_ > 1 && in_.size() == 3 && in_[0] == 1 && producer == plain_desc(full);
  bessel_ = in_.size() == 3 && n > 1 ? double(n) / double(n - 1) : 1.0;

  // Channels layouts stay as the producer made them (blocked between convolutions);
  // nhwc and nchw are fallbacks should that layout only have a reference kernel.
  // [D] samples are viewed as N x D x 1 x 1 nhwc, the same bytes as plain N x D: that
  // reaches the jit kernel; the plain 2-D one is a slow generic kernel.
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
  groups_as_channels_ = groups_as_channels_ && group_.dims()[0] == 1 && group_.dims()[1] == groups_;
  passes_ = groups_as_channels_ ? 1 : groups_;

  impls_.clear();
  auto note = [&](const std::string& pass, const dnnl::primitive_desc_base& pd) {
    log_primitive(ctx.verbose, "batch_norm: " + pass, pd);
    impls_.push_back(impl_name(pd));
  };
  auto note_own = [&](const std::string& pass) {
    log_implementation(ctx.verbose, "batch_norm: " + pass, "graphrun:one_channel");
    impls_.push_back("graphrun:one_channel");
  };
  // The channels view's train-mode primitives are planned (their statistics' layout is
  // the one kept) but graphrun's loops run in their place.
  fwd_train_ = bn_fwd(fwd_train_pd_);
  if (groups_as_channels_) note_own("forward train");
  else note("forward train", fwd_train_pd_);
  fwd_eval_ = bn_fwd(fwd_eval_pd_);
  note("forward eval", fwd_eval_pd_);
  bwd_train_ = {};
  bwd_eval_ = {};
  if (bwd_train_pd_) {
    bwd_train_ = bn_bwd(bwd_train_pd_);
    if (groups_as_channels_) note_own("backward train");
    else note("backward train", bwd_train_pd_);
    bwd_eval_ = bn_bwd(bwd_eval_pd_);
    note("backward eval", bwd_eval_pd_);
  }
  eval_ws_ = relu_ && fwd_eval_pd_.workspace_desc().get_size() ? memory(fwd_eval_pd_.workspace_desc(), eng) : memory();
  train_ws_.clear();
  batch_means_.clear();
  batch_vars_.clear();
  for (int64_t g = 0; g < passes_; ++g) {  // per pass: its statistics and relu mask
    if (relu_) train_ws_.emplace_back(fwd_train_pd_.workspace_desc(), eng);
    batch_means_.emplace_back(fwd_train_pd_.mean_desc(), eng);
    batch_vars_.emplace_back(fwd_train_pd_.variance_desc(), eng);
  }
  // diff_src is always computed: a scratch buffer when nobody wants it.
  scratch_diff_src_ = need_params_ && !need_data_ ? memory(data_, eng) : memory();
  engine_ = eng;
  ctx.inputs[0] = io_;
  return io_;
}

void BatchNorm::make_pds(const memory::desc& d, const dnnl::engine& eng) {
  flags f = flags::none;
  if (scale_) f = f | flags::use_scale;
  if (center_) f = f | flags::use_shift;
  if (relu_) f = f | flags::fuse_norm_relu;
  const float eps = float(epsilon_);
  const bool backward = need_data_ || need_params_;
  const memory::dims dims = d.dims();
  group_ = groups_as_channels_ && d == plain_desc(Shape(dims.begin(), dims.end()))
               ? memory::desc({1, groups_, dims[0] / groups_, in_[1] * in_[2]}, memory::data_type::f32,
                              memory::format_tag::nchw)
               : group_desc(d);
  fwd_train_pd_ = bn_fwd::primitive_desc({dnnl::prop_kind::forward_training, group_, eps, f}, eng);
  // With a fused relu, backward needs the forward's workspace (the relu mask), which only
  // forward_training writes.
  const auto eval_prop = relu_ && backward ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  fwd_eval_pd_ = bn_fwd::primitive_desc({eval_prop, d, eps, f | flags::use_global_stats}, eng);
  bwd_train_pd_ = {};
  bwd_eval_pd_ = {};
  if (backward) {
    const auto prop = need_params_ ? dnnl::prop_kind::backward : dnnl::prop_kind::backward_data;
    bwd_train_pd_ = bn_bwd::primitive_desc({prop, group_, group_, eps, f}, eng, fwd_train_pd_);
    bwd_eval_pd_ = bn_bwd::primitive_desc({prop, d, d, eps, f | flags::use_global_stats}, eng, fwd_eval_pd_);
  }
  data_ = d;
}

memory::desc BatchNorm::group_desc(const memory::desc& d) const {
  if (groups_ == 1) return d;
  memory::dims part = d.dims();
  part[0] /= groups_;
  return d.submemory_desc(part, memory::dims(part.size(), 0));
}

Fusion BatchNorm::fusion() const {
  Fusion f;
  f.kind = Fusion::Kind::channel_affine;
  f.activation = own_relu_ ? Activation::relu : Activation::linear;
  return f;
}

// At inference: y = relu?(gamma * (x - mean) / sqrt(var + epsilon) + beta), per channel.
void BatchNorm::channel_affine(std::vector<float>& scale, std::vector<float>& shift) const {
  const size_t c = size_t(in_[0]);
  size_t i = 0;
  const float* gamma = scale_ ? param(i++).data() : nullptr;
  const float* beta = center_ ? param(i++).data() : nullptr;
  const float* mean = moving_mean_->data();
  const float* var = moving_var_->data();
  scale.resize(c);
  shift.resize(c);
  for (size_t k = 0; k < c; ++k) {
    const float s = (gamma ? gamma[k] : 1.f) / std::sqrt(var[k] + float(epsilon_));
    scale[k] = s;
    shift[k] = (beta ? beta[k] : 0.f) - mean[k] * s;
  }
}

OpInfo batch_norm_op() {
  OpInfo op;
  op.name = "batch_norm";
  op.batch_mixing = BatchMixing::in_training;
  op.batch_groups = true;
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
