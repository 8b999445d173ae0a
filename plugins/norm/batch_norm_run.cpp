// batch_norm (batch_norm.hpp): binding the primitives' arguments, and running them: one
// train-mode pass per stacked use of the tower, the moving averages after them.
#include "batch_norm.hpp"

namespace graphrun::norm {

void BatchNorm::bind(const Bindings& b) {
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

void BatchNorm::forward(ExecContext& ctx) {
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

void BatchNorm::backward(ExecContext& ctx) {
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

// Group g's slice of a batch tensor seen by the primitives (the whole batch, seen as
// channels, for the channels view).
memory BatchNorm::slice(const memory& whole, int64_t g) const {
  if (groups_ == 1) return whole;
  auto* base = static_cast<char*>(whole.get_data_handle());
  return memory(group_, engine_, base + size_t(g) * group_.get_size());
}

// A bound tensor as the primitives see it (a 4-D view of a [D] batch).
memory BatchNorm::view(const Tensor& t) const {
  if (io_ == data_) return t.memory();
  return memory(data_, engine_, const_cast<float*>(t.data()));
}

}  // namespace graphrun::norm
