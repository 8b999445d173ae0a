// conv2d by oneDNN's primitives: any layer, every pass. The work here is choosing the
// input and output layouts (and the algorithm) so that no pass lands on a reference
// kernel, and keeping the weights in the layout each primitive wants.
#include "conv2d.hpp"

namespace graphrun::conv {
namespace {

using tag = memory::format_tag;

// Input/output layouts to try, best first; each later entry is a fallback for when an
// earlier one lands on "ref" (tools/bench/README.md has the measurements behind them):
// - 16 or more channels on both sides: `any` (blocked nChw16c) is jit in every pass.
// - a first layer (no backward_data) with 16+ filters: plain input, blocked output is jit
//   for forward and weights (its backward_data would be ref, but it never runs).
// - otherwise nhwc in and out (brgconv/jit everywhere): nchw in with `any` out sends the
//   backward passes to gemm and a blocked 4-channel input is ref everywhere.
//   nhwc needs blocked weights (plain oihw weights with nhwc data are ref). With one input
//   channel, a plain producer's nchw is the same bytes (and an equal descriptor), but only
//   the nhwc descriptor reaches brgconv; nchw with C=1 and nhwc output is ref.
std::vector<std::pair<tag, tag>> layout_order(int64_t in_c, int64_t out_c, bool need_data) {
  std::vector<std::pair<tag, tag>> order;
  if (in_c >= 16 && out_c >= 16)
    order.push_back({tag::any, tag::any});
  else if (!need_data && out_c >= 16)
    order.push_back({tag::nchw, tag::any});
  else
    order.push_back({tag::nhwc, tag::nhwc});
  for (auto c : {std::pair{tag::any, tag::any}, std::pair{tag::nhwc, tag::nhwc}, std::pair{tag::nchw, tag::any},
                 std::pair{tag::nchw, tag::nchw}})
    if (c != order.front()) order.push_back(c);
  return order;
}

bool is_any(const memory::desc& d) { return d.data.format_kind == dnnl_format_kind_any; }

}  // namespace

// oneDNN takes any layer; whether it has a jit kernel for it is found when planning.
bool onednn_applies(const ConvLayer&, Pass, std::string&) { return true; }

// Winograd is tried when asked, or (auto) on a 3x3 stride-1 layer with 16+ channels on
// each side, where oneDNN's avx512 Winograd kernels apply; where it is unavailable,
// auto falls back to the direct algorithm.
bool Conv2d::winograd() const {
  if (algorithm_ != "auto") return algorithm_ == "winograd";
  return kernel_ == std::vector<int64_t>{3, 3} && strides_ == std::vector<int64_t>{1, 1} && in_[0] >= 16 &&
         filters_ >= 16;
}

// Whether oneDNN has Winograd kernels for this layer here (it has them for AVX-512).
bool Conv2d::onednn_winograd(const memory::dims& src_dims, const memory::dims& dst_dims,
                             const dnnl::engine& eng) const {
  return try_layout(memory::desc(src_dims, memory::data_type::f32, tag::any),
                    memory::desc(dst_dims, memory::data_type::f32, tag::any), false, false, true, eng)
      .has_value();
}

// Only relu is fused: tanh/sigmoid post-ops were never faster than a separate in-place
// eltwise on any path; relu post-ops are free on jit/brgconv but not on gemm, which is
// then run unfused.
// In bf16, src, weights and diff_dst are bf16 and everything written (dst, diff_src,
// diff_weights, diff_bias) is f32: the products accumulate in f32 and the master weights
// are updated from f32 gradients.
std::optional<Passes> Conv2d::try_layout(const memory::desc& src, const memory::desc& dst, bool need_data,
                                         bool need_weights, bool use_winograd, const dnnl::engine& eng) const {
  const auto f32 = memory::data_type::f32;
  const memory::dims w_dims{filters_, in_[0], kernel_[0], kernel_[1]};
  const memory::desc w_any(w_dims, compute_, tag::any), dw_any(w_dims, f32, tag::any);
  const memory::desc src_compute = with_data_type(src, compute_);
  const memory::desc bias({filters_}, f32, tag::x);
  const memory::dims strides{strides_[0], strides_[1]}, pad_l{wh_.pad_l, ww_.pad_l}, pad_r{wh_.pad_r, ww_.pad_r};
  const auto direct = dnnl::algorithm::convolution_direct;
  // Winograd (F(4x4, 3x3)) does fewer multiplications; it helps the forward pass and the
  // weight gradient, not the data gradient.
  const auto wino = use_winograd ? dnnl::algorithm::convolution_winograd : direct;
  try {
    Passes p;
    // Inference Winograd wants its weights pre-transformed: fine for fixed weights, which
    // are transformed once.
    const bool inference = !need_data && !need_weights;
    const auto prop = inference ? dnnl::prop_kind::forward_inference : dnnl::prop_kind::forward_training;
    const bool with_bias = use_bias_ || folds_affine();
    conv_fwd::desc fd = with_bias ? conv_fwd::desc(prop, wino, src_compute, w_any, bias, dst, strides, pad_l, pad_r)
                                  : conv_fwd::desc(prop, wino, src_compute, w_any, dst, strides, pad_l, pad_r);
    if (applied_ == Activation::relu) {
      dnnl::post_ops ops;
      ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
      dnnl::primitive_attr attr;
      attr.set_post_ops(ops);
      p.fwd = conv_fwd::primitive_desc(fd, attr, eng);
      p.fused = std::string(p.fwd.impl_info_str()).find("gemm") == std::string::npos;
    }
    if (!p.fused) p.fwd = conv_fwd::primitive_desc(fd, eng);
    p.src_compute = is_any(src) ? p.fwd.src_desc() : src_compute;
    p.src = with_data_type(p.src_compute, f32);
    p.dst = is_any(dst) ? p.fwd.dst_desc() : dst;
    p.dst_compute = with_data_type(p.dst, compute_);
    if (need_data)
      p.bwd_data = conv_bwd_data::primitive_desc(
          conv_bwd_data::desc(algorithm_ == "winograd" ? wino : direct, p.src, w_any, p.dst_compute, strides, pad_l,
                              pad_r),
          eng, p.fwd);
    if (need_weights) {
      const memory::desc& s = p.src_compute;
      const memory::desc& dd = p.dst_compute;
      conv_bwd_weights::desc bd = use_bias_ ? conv_bwd_weights::desc(wino, s, dw_any, bias, dd, strides, pad_l, pad_r)
                                            : conv_bwd_weights::desc(wino, s, dw_any, dd, strides, pad_l, pad_r);
      p.bwd_weights = conv_bwd_weights::primitive_desc(bd, eng, p.fwd);
    }
    return p;
  } catch (const dnnl::error&) {
    return std::nullopt;  // this layout is not implemented; try the next
  }
}

// The first layouts (and algorithm) whose passes are all jit, else the first that exist.
// nhwc_only: channels-last in and out (the matrix-product data gradient reads them).
Passes Conv2d::plan_onednn_layouts(const memory::dims& src_dims, const memory::dims& dst_dims, bool need_data,
                                   bool need_weights, bool nhwc_only, const dnnl::engine& eng) const {
  std::vector<std::pair<tag, tag>> order = layout_order(in_[0], filters_, need_data);
  if (layout_ == "nchw") order = {{tag::nchw, tag::nchw}};
  if (layout_ == "nhwc" || nhwc_only) order = {{tag::nhwc, tag::nhwc}};
  if (layout_ == "blocked") order = {{tag::any, tag::any}};
  std::vector<bool> algorithms{false};
  if (winograd() && compute_ == memory::data_type::f32) algorithms = algorithm_ == "winograd" ? std::vector<bool>{true} : std::vector<bool>{true, false};
  std::optional<Passes> chosen;
  for (auto [s, d] : order) {
    for (bool wino : algorithms) {
      std::optional<Passes> p =
          try_layout(tagged(src_dims, s), tagged(dst_dims, d), need_data, need_weights, wino, eng);
      if (!p) continue;
      if (!chosen || !p->any_ref()) chosen = std::move(p);
      if (!chosen->any_ref()) break;
    }
    if (chosen && !chosen->any_ref()) break;
  }
  if (!chosen && algorithm_ == "winograd")
    throw Error("conv2d: no Winograd convolution for input " + to_string(in_) +
                " on this machine (oneDNN's needs AVX-512; graphrun's, implementation: winograd, a 3x3 kernel "
                "at stride 1); use algorithm: auto or direct");
  if (!chosen) throw Error("conv2d: oneDNN offers no convolution for input " + to_string(in_));
  return std::move(*chosen);
}

void Conv2d::plan_onednn_forward(const Passes& p, const dnnl::engine& eng, const Note& note) {
  fwd_ = conv_fwd(p.fwd);
  note("forward", p.fwd);
  stage(w_fwd_, plain_desc({filters_, in_[0], kernel_[0], kernel_[1]}), p.fwd.weights_desc(), eng,
        "forward weights reorder", note);
  // Shared with the plans of other batch sizes (PlanContext::derived).
  if (w_fwd_.copy) w_fwd_.mem = derived_->buffer("forward weights", w_fwd_.mem.get_desc());
}

void Conv2d::plan_onednn_data_gradient(const Passes& p, const dnnl::engine& eng, const Note& note) {
  bwd_data_ = conv_bwd_data(p.bwd_data);
  note("backward data", p.bwd_data);
  reuse_fwd_weights_ = impl_ == Impl::onednn && p.bwd_data.weights_desc() == p.fwd.weights_desc();
  if (!reuse_fwd_weights_)
    stage(w_bwd_data_, plain_desc({filters_, in_[0], kernel_[0], kernel_[1]}), p.bwd_data.weights_desc(), eng,
          "backward data weights reorder", note);
}

void Conv2d::plan_onednn_weight_gradient(const Passes& p, const dnnl::engine& eng, const Note& note) {
  bwd_weights_ = conv_bwd_weights(p.bwd_weights);
  note("backward weights", p.bwd_weights);
  stage(dw_, p.bwd_weights.diff_weights_desc(), plain_desc({filters_, in_[0], kernel_[0], kernel_[1]}), eng,
        "weight gradient reorder", note);
}

void Conv2d::bind_onednn(memory src, memory dz) {
  if (in_grad(0) && data_impl_ == Impl::onednn) {
    memory w = reuse_fwd_weights_ ? fwd_args_.at(DNNL_ARG_WEIGHTS) : (w_bwd_data_.copy ? w_bwd_data_.mem : param(0).memory());
    bwd_data_args_ = {{DNNL_ARG_DIFF_DST, dz}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DIFF_SRC, in_grad(0)->memory()}};
  }
  if (!b_.param_grads.empty() && param_grad(0)) {
    memory dw = dw_.copy ? dw_.mem : param_grad(0)->memory();
    bwd_weights_args_ = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, dz}, {DNNL_ARG_DIFF_WEIGHTS, dw}};
    if (use_bias_) bwd_weights_args_[DNNL_ARG_DIFF_BIAS] = param_grad(1)->memory();
  }
}

// Reorder `from` -> `to` unless they are equal; the private buffer holds whichever side
// is not the plain parameter (or its gradient).
void Conv2d::stage(Staged& s, const memory::desc& from, const memory::desc& to, const dnnl::engine& eng,
                   const std::string& what, const Note& note) {
  s = {};
  if (from == to) return;
  s.copy = true;
  const bool to_plain = is_plain(to);
  s.mem = memory(to_plain ? from : to, eng);
  dnnl::reorder::primitive_desc pd(eng, from, eng, to);
  s.reorder = dnnl::reorder(pd);
  note(what, pd);
}

// Brings the forward weights up to date: the kernel reordered to the primitive's layout,
// or folded with the next node's affine map. Fixed weights (a frozen node) are redone
// only when their values change.
void Conv2d::stage_forward_weights(dnnl::stream& s) {
  const size_t nw = size_t(param(0).size());
  const float* bias = use_bias_ ? param(1).data() : nullptr;
  // The buffer forward reads, and whether it is up to date (fixed weights only).
  const char* read = w_fwd_.copy ? "forward weights" : "folded kernel";
  const memory::desc read_desc = w_fwd_.copy ? w_fwd_.mem.get_desc() : folded_w_ ? folded_w_.get_desc() : memory::desc();
  if (folds_affine()) {
    affine_source_(affine_scale_, affine_shift_);
    if (weights_fixed_ && !derived_->changed(read, read_desc,
                                             {{param(0).data(), nw},
                                              {bias, bias ? size_t(filters_) : 0},
                                              {affine_scale_.data(), affine_scale_.size()},
                                              {affine_shift_.data(), affine_shift_.size()}}))
      return;
    fold_affine(param(0).data(), bias, affine_scale_, affine_shift_, filters_, int64_t(nw) / filters_,
                static_cast<float*>(folded_w_.get_data_handle()), static_cast<float*>(folded_b_.get_data_handle()));
    if (w_fwd_.copy) w_fwd_.reorder.execute(s, folded_w_, w_fwd_.mem);
    return;
  }
  if (!w_fwd_.copy) return;
  if (weights_fixed_ && !derived_->changed(read, read_desc, {{param(0).data(), nw}})) return;
  w_fwd_.reorder.execute(s, param(0).memory(), w_fwd_.mem);
}

}  // namespace graphrun::conv
