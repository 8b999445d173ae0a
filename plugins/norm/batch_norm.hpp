#pragma once
// batch_norm: the node (batch_norm.cpp plans it, batch_norm_run.cpp binds and runs it,
// batch_norm_uses.cpp has the loops of one-channel uses). Keras BatchNormalization over the channels of [C, H, W] samples or the
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
// oneDNN's one-channel kernel is plain C++ and splits no work over threads.
#include "one_channel.hpp"

#include <graphrun/activation.hpp>
#include <graphrun/error.hpp>
#include <graphrun/primitives.hpp>
#include <graphrun/registry.hpp>

#include <optional>

namespace graphrun::norm {

using dnnl::memory;
using flags = dnnl::normalization_flags;
using bn_fwd = dnnl::batch_normalization_forward;
using bn_bwd = dnnl::batch_normalization_backward;

class BatchNorm : public Node {
 public:
  explicit BatchNorm(const Attributes& a);
  Shape infer(const std::vector<Shape>& inputs) override;
  std::vector<ParamSpec> params(const std::vector<Shape>& inputs) const override;
  memory::desc plan(PlanContext& ctx) override;
  void bind(const Bindings& b) override;
  void forward(ExecContext& ctx) override;
  void backward(ExecContext& ctx) override;
  // At inference, a per-channel affine map (and its relu): fusable into its producer.
  Fusion fusion() const override;
  void channel_affine(std::vector<float>& scale, std::vector<float>& shift) const override;
  std::vector<std::string> implementations() const override { return impls_; }

 private:
  // Primitive descriptors for one data layout (throws dnnl::error if unsupported).
  void make_pds(const memory::desc& d, const dnnl::engine& eng);
  // One group's share of a batch laid out as `d`: its first batch / groups samples, with
  // d's strides (the batch is the outermost dimension of every layout used here). Strides
  // matter even where they do not move a byte: they decide which kernel oneDNN picks.
  memory::desc group_desc(const memory::desc& d) const;
  float gamma() const { return scale_ ? param(0).data()[0] : 1.f; }
  float beta() const { return center_ ? param(scale_ ? 1 : 0).data()[0] : 0.f; }
  // One-channel images, train mode: each use's values are contiguous (use-major batch).
  void forward_one_channel();
  void backward_one_channel();
  // Group g's slice of a batch tensor seen by the primitives (the whole batch, seen as
  // channels, for the channels view).
  memory slice(const memory& whole, int64_t g) const;
  // A bound tensor as the primitives see it (a 4-D view of a [D] batch).
  memory view(const Tensor& t) const;
  bool any_ref() const {
    return is_reference(fwd_train_pd_) || is_reference(fwd_eval_pd_) || (bwd_train_pd_ && is_reference(bwd_train_pd_)) ||
           (bwd_eval_pd_ && is_reference(bwd_eval_pd_));
  }

  double momentum_, epsilon_;
  bool center_, scale_;
  bool own_relu_;      // the activation attribute
  bool relu_ = false;  // relu fused into the normalisation (oneDNN fuse_norm_relu): own, or an absorbed node's
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

}  // namespace graphrun::norm
