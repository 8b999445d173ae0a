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
//
// Stacked tower uses (PlanContext::batch_groups) are normalised apart in train mode: one
// pass per use on its slice of the batch or, for one-channel images, graphrun's own loops
// over each use's contiguous values, the uses split over threads (one_channel.hpp):
// oneDNN's one-channel kernel is plain C++ and splits no work over threads, and this was
// the largest single cost of an R4 step.
#include "one_channel.hpp"

#include <graphrun/error.hpp>
#include <graphrun/primitives.hpp>
#include <graphrun/registry.hpp>

#include <cmath>
#include <optional>

namespace graphrun::norm {
namespace {

using dnnl::memory;
using flags = dnnl::normalization_flags;
using bn_fwd = dnnl::batch_normalization_forward;
using bn_bwd = dnnl::batch_normalization_backward;

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
    ParamSpec gamma("gamma", {c}), beta("beta", {c}), mean("moving_mean", {c}), var("moving_variance", {c});
    gamma.default_init = var.default_init = "ones";
    mean.kind = var.kind = ParamSpec::Kind::state;
    if (scale_) p.push_back(gamma);
    if (center_) p.push_back(beta);
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
    fwd_eval_args_ = common;
    fwd_eval_args_.insert({{DNNL_ARG_DST, dst},
                           {DNNL_ARG_MEAN, moving_mean_->memory()},
                           {DNNL_ARG_VARIANCE, moving_var_->memory()}});
    if (eval_ws_) fwd_eval_args_[DNNL_ARG_WORKSPACE] = eval_ws_;
    // Train mode: one pass per group (a use of the tower), on its slice of the batch (none
    // for one-channel images: graphrun's loops run instead).
    const int64_t train_passes = groups_as_channels_ ? 0 : passes_;
    fwd_train_args_.assign(size_t(train_passes), {});
    for (int64_t g = 0; g < train_passes; ++g) {
      ArgMap& a = fwd_train_args_[size_t(g)];
      a = common;
      a[DNNL_ARG_SRC] = slice(src, g);
      a.insert({{DNNL_ARG_DST, slice(dst, g)}, {DNNL_ARG_MEAN, batch_means_[size_t(g)]},
                {DNNL_ARG_VARIANCE, batch_vars_[size_t(g)]}});
      if (relu_) a[DNNL_ARG_WORKSPACE] = train_ws_[size_t(g)];
    }
    bwd_train_args_.clear();
    group_param_grads_.clear();
    if (!bwd_train_ || !b.output_grad) return;

    const memory diff_dst = view(out_grad()), diff_src = in_grad(0) ? view(*in_grad(0)) : scratch_diff_src_;
    ArgMap bwd = common;
    bwd[DNNL_ARG_DIFF_DST] = diff_dst;
    bwd[DNNL_ARG_DIFF_SRC] = diff_src;
    param_grads_.clear();
    if (need_params_) {  // a frozen node gets no parameter gradients: write them to scratch
      size_t k = 0;
      auto grad_or_scratch = [&](size_t idx) {
        Tensor* g = idx < b.param_grads.size() ? b.param_grads[idx] : nullptr;
        return g ? g->memory() : memory(param(idx).desc(), engine_);
      };
      if (scale_) bwd[DNNL_ARG_DIFF_SCALE] = grad_or_scratch(k++);
      if (center_) bwd[DNNL_ARG_DIFF_SHIFT] = grad_or_scratch(k++);
      for (int arg : {DNNL_ARG_DIFF_SCALE, DNNL_ARG_DIFF_SHIFT})
        if (bwd.count(arg)) param_grads_.push_back({arg, bwd[arg]});
    }
    bwd_eval_args_ = bwd;
    bwd_eval_args_.insert({{DNNL_ARG_MEAN, moving_mean_->memory()}, {DNNL_ARG_VARIANCE, moving_var_->memory()}});
    if (eval_ws_) bwd_eval_args_[DNNL_ARG_WORKSPACE] = eval_ws_;
    for (int64_t g = 0; g < train_passes; ++g) {
      ArgMap a = bwd;
      a[DNNL_ARG_SRC] = slice(src, g);
      a[DNNL_ARG_DIFF_DST] = slice(diff_dst, g);
      a[DNNL_ARG_DIFF_SRC] = slice(diff_src, g);
      a.insert({{DNNL_ARG_MEAN, batch_means_[size_t(g)]}, {DNNL_ARG_VARIANCE, batch_vars_[size_t(g)]}});
      if (relu_) a[DNNL_ARG_WORKSPACE] = train_ws_[size_t(g)];
      if (groups_ > 1) {  // each group's gamma/beta gradient apart, summed after the last
        std::vector<memory> own;
        for (auto& [arg, target] : param_grads_) {
          own.emplace_back(target.get_desc(), engine_);
          a[arg] = own.back();
        }
        group_param_grads_.push_back(own);
      }
      bwd_train_args_.push_back(a);
    }
  }

  void forward(ExecContext& ctx) override {
    if (ctx.mode == Mode::eval) {
      fwd_eval_.execute(ctx.stream, fwd_eval_args_);
      return;
    }
    if (groups_as_channels_) {
      ctx.stream.wait();  // the input's producer has finished
      forward_one_channel();
    } else {
      for (const ArgMap& args : fwd_train_args_) fwd_train_.execute(ctx.stream, args);
      ctx.stream.wait();
    }
    // The moving averages take each group's statistics in turn, as Keras applies a shared
    // layer to its first use and then to the next.
    const float m = float(momentum_), batch_weight = float(1 - momentum_), var_weight = float((1 - momentum_) * bessel_);
    float* moving_mean = moving_mean_->data();
    float* moving_var = moving_var_->data();
    for (int64_t g = 0; g < groups_; ++g) {
      const size_t pass = groups_as_channels_ ? 0 : size_t(g), at = groups_as_channels_ ? size_t(g) : 0;
      const auto* mean = static_cast<const float*>(batch_means_[pass].get_data_handle()) + at;
      const auto* var = static_cast<const float*>(batch_vars_[pass].get_data_handle()) + at;
      for (int64_t c = 0; c < in_[0]; ++c) {
        moving_mean[c] = m * moving_mean[c] + batch_weight * mean[c];
        moving_var[c] = m * moving_var[c] + var_weight * var[c];
      }
    }
  }

  void backward(ExecContext& ctx) override {
    if (!bwd_train_ || !b_.output_grad || (!in_grad(0) && !need_params_)) return;
    if (ctx.mode == Mode::eval) {
      bwd_eval_.execute(ctx.stream, bwd_eval_args_);
      return;
    }
    if (groups_as_channels_) {
      ctx.stream.wait();
      backward_one_channel();
      return;
    }
    for (const ArgMap& args : bwd_train_args_) bwd_train_.execute(ctx.stream, args);
    if (group_param_grads_.empty()) return;
    ctx.stream.wait();
    for (size_t k = 0; k < param_grads_.size(); ++k) {
      auto* total = static_cast<float*>(param_grads_[k].second.get_data_handle());
      std::fill(total, total + in_[0], 0.f);
      for (const auto& own : group_param_grads_) {  // per pass: C values
        const auto* part = static_cast<const float*>(own[k].get_data_handle());
        for (int64_t i = 0; i < in_[0]; ++i) total[i] += part[i];
      }
    }
  }

  // At inference: y = relu?(gamma * (x - mean) / sqrt(var + epsilon) + beta), per channel.
  bool is_channel_affine(bool& relu) const override {
    relu = relu_;
    return true;
  }

  void channel_affine(ChannelAffine& out) const override {
    const size_t c = size_t(in_[0]);
    size_t i = 0;
    const float* gamma = scale_ ? param(i++).data() : nullptr;
    const float* beta = center_ ? param(i++).data() : nullptr;
    const float* mean = moving_mean_->data();
    const float* var = moving_var_->data();
    out.scale.resize(c);
    out.shift.resize(c);
    out.relu = relu_;
    for (size_t k = 0; k < c; ++k) {
      const float s = (gamma ? gamma[k] : 1.f) / std::sqrt(var[k] + float(epsilon_));
      out.scale[k] = s;
      out.shift[k] = (beta ? beta[k] : 0.f) - mean[k] * s;
    }
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

  // One group's share of a batch laid out as `d`: its first batch / groups samples, with
  // d's strides (the batch is the outermost dimension of every layout used here). Strides
  // matter even where they do not move a byte: a one-channel image seen as nhwc reaches a
  // kernel 5x slower than as nchw, a [D] batch seen as nchw one 7x slower than as nhwc.
  memory::desc group_desc(const memory::desc& d) const {
    if (groups_ == 1) return d;
    memory::dims part = d.dims();
    part[0] /= groups_;
    return d.submemory_desc(part, memory::dims(part.size(), 0));
  }

  float gamma() const { return scale_ ? param(0).data()[0] : 1.f; }
  float beta() const { return center_ ? param(scale_ ? 1 : 0).data()[0] : 0.f; }

  // One-channel images, train mode: each use's values are contiguous (use-major batch).
  void forward_one_channel() {
    const int64_t n = in(0).desc().get_size() / int64_t(sizeof(float)) / groups_;
    auto* means = static_cast<float*>(batch_means_[0].get_data_handle());
    auto* vars = static_cast<float*>(batch_vars_[0].get_data_handle());
    const float g = gamma(), b = beta(), eps = float(epsilon_);
    const float* x = in(0).data();
    float* y = out().data();
#pragma omp parallel for schedule(static)
    for (int64_t u = 0; u < groups_; ++u)
      one_channel_forward(x + u * n, n, g, b, eps, relu_, y + u * n, means + u, vars + u);
  }

  void backward_one_channel() {
    const int64_t n = in(0).desc().get_size() / int64_t(sizeof(float)) / groups_;
    const auto* means = static_cast<const float*>(batch_means_[0].get_data_handle());
    const auto* vars = static_cast<const float*>(batch_vars_[0].get_data_handle());
    const float g = gamma(), eps = float(epsilon_);
    float* dx = in_grad(0) ? in_grad(0)->data() : static_cast<float*>(scratch_diff_src_.get_data_handle());
    use_grads_.resize(size_t(2 * groups_));
#pragma omp parallel for schedule(static)
    for (int64_t u = 0; u < groups_; ++u)
      one_channel_backward(in(0).data() + u * n, out().data() + u * n, out_grad().data() + u * n, n, g, means[u],
                           vars[u], eps, relu_, dx + u * n, &use_grads_[size_t(2 * u)], &use_grads_[size_t(2 * u + 1)]);
    for (auto& [arg, target] : param_grads_) {  // summed over the uses, in use order
      float total = 0;
      for (int64_t u = 0; u < groups_; ++u) total += use_grads_[size_t(2 * u + (arg == DNNL_ARG_DIFF_SHIFT ? 1 : 0))];
      static_cast<float*>(target.get_data_handle())[0] = total;
    }
  }

  // Group g's slice of a batch tensor seen by the primitives (the whole batch, seen as
  // channels, for the channels view).
  memory slice(const memory& whole, int64_t g) const {
    if (groups_ == 1) return whole;
    auto* base = static_cast<char*>(whole.get_data_handle());
    return memory(group_, engine_, base + size_t(g) * group_.get_size());
  }

  // A bound tensor as the primitives see it (a 4-D view of a [D] batch).
  memory view(const Tensor& t) const {
    if (io_ == data_) return t.memory();
    return memory(data_, engine_, const_cast<float*>(t.data()));
  }

  bool any_ref() const {
    return is_reference(fwd_train_pd_) || is_reference(fwd_eval_pd_) || (bwd_train_pd_ && is_reference(bwd_train_pd_)) ||
           (bwd_eval_pd_ && is_reference(bwd_eval_pd_));
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
  int64_t groups_ = 1;  // stacked tower uses, normalised apart in train mode
  bool groups_as_channels_ = false;  // one channel: the uses seen as channels, graphrun's loops in train mode
  int64_t passes_ = 1;               // sets of statistics: groups_, or 1 with the channels view
  std::vector<float> use_grads_;     // one-channel images: gamma's and beta's gradient per use
  memory::desc group_;  // one group of data_, what the train-mode primitives see
  std::vector<memory> batch_means_, batch_vars_;  // per group
  std::vector<memory> train_ws_;                  // per group: relu masks of the fused activation
  memory eval_ws_, scratch_diff_src_;
  std::vector<std::pair<int, memory>> param_grads_;       // gamma/beta gradient targets
  std::vector<std::vector<memory>> group_param_grads_;  // per group, when there are several
  Tensor* moving_mean_ = nullptr;
  Tensor* moving_var_ = nullptr;
  std::vector<ArgMap> fwd_train_args_, bwd_train_args_;  // per group
  ArgMap fwd_eval_args_, bwd_eval_args_;
  std::vector<std::string> impls_;
};

}  // namespace

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
