// conv2d: 2-D convolution with Keras Conv2D semantics (valid/same padding, strides, bias,
// activation) on per-sample [channels, height, width] tensors.
#include "affine_fold.hpp"
#include "gemm_data_gradient.hpp"
#include "layout.hpp"
#include "pool2d.hpp"
#include "single_channel.hpp"
#include "winograd.hpp"
#include "window.hpp"

#include <graphrun/error.hpp>
#include <graphrun/primitives.hpp>
#include <graphrun/registry.hpp>

#include <optional>
#include <utility>

namespace graphrun::conv {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using conv_fwd = dnnl::convolution_forward;
using conv_bwd_data = dnnl::convolution_backward_data;
using conv_bwd_weights = dnnl::convolution_backward_weights;

// The primitive descriptors of one layout choice.
struct Passes {
  memory::desc src, dst;
  conv_fwd::primitive_desc fwd;
  conv_bwd_data::primitive_desc bwd_data;        // empty when no input gradient is needed
  conv_bwd_weights::primitive_desc bwd_weights;  // empty for a frozen node
  bool fused = false;                            // activation applied as a post-op

  bool any_ref() const {
    return is_reference(fwd) || (bwd_data && is_reference(bwd_data)) || (bwd_weights && is_reference(bwd_weights));
  }
};

// A parameter in the layout a primitive wants: the plain tensor itself, or a private
// copy kept up to date by a reorder.
struct Staged {
  bool copy = false;
  memory mem;
  dnnl::reorder reorder;
};

// Input/output layouts to try, best first. Measured with batch 16 (R4) and 2-64 (Koch),
// 1-2 threads; each later entry is a fallback for when an earlier one lands on "ref":
// - 16 or more channels on both sides: `any` (blocked nChw16c) is jit in every pass.
// - a first layer (no backward_data) with 16+ filters: plain input, blocked output is jit
//   for forward and weights (its backward_data would be ref, but it never runs).
// - otherwise nhwc in and out (brgconv/jit everywhere): nchw in with `any` out sends the
//   backward passes to gemm (2-4x slower) and a blocked 4-channel input is ref everywhere.
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

class Conv2d : public Node {
 public:
  explicit Conv2d(const Attributes& a)
      : filters_(a.integer("filters")),
        kernel_(positive_pair(a, "kernel_size", {})),
        strides_(positive_pair(a, "strides", {1, 1})),
        same_(a.choice("padding", "valid", {"valid", "same"}) == "same"),
        use_bias_(a.boolean("use_bias", true)),
        activation_(a.choice("activation", "linear", {"linear", "relu", "sigmoid", "tanh"})),
        layout_(a.choice("layout", "auto", {"auto", "nchw", "nhwc", "blocked"})),
        algorithm_(a.choice("algorithm", "auto", {"auto", "direct", "winograd"})) {
    if (filters_ <= 0) a.fail("filters", "must be positive, got " + std::to_string(filters_));
  }

  Shape infer(const std::vector<Shape>& inputs) override {
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

  std::vector<ParamSpec> params(const std::vector<Shape>& inputs) const override {
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

  memory::desc plan(PlanContext& ctx) override {
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
    // One input channel: the data gradient is computed here (single_channel.hpp), and so
    // are the other passes for a few filters at stride 1, on plain nchw images.
    const bool single_channel = need_data && in_[0] == 1 && layout_ == "auto";
    const bool dnnl_data = need_data && !single_channel;
    const bool one_channel = in_[0] == 1 && layout_ == "auto" && algorithm_ != "winograd";
    // More filters (a multiple of the vector width): the same, written channel-blocked.
    const int64_t block = blocked_filters(geometry_);
    path_ = Path::onednn;
    if (one_channel && filters_ <= kOwnFilters && supports_direct(geometry_))
      path_ = Path::single_channel;
    else if (one_channel && block > 0)
      path_ = Path::single_channel_blocked;
    weights_fixed_ = !need_weights;
    // A following batch_norm at inference is folded into the kernel and bias (its relu
    // becomes this node's); only after a linear output.
    next_ = nullptr;
    next_relu_ = false;
    bool relu = false;
    if (!ctx.next.empty() && activation_ == "linear" && ctx.next[0]->is_channel_affine(relu)) {
      next_ = ctx.next[0];
      next_relu_ = relu;
      ctx.absorbed = 1;
    }
    // A 2x2 max pool (stride 2) after that is computed in the same pass by the blocked
    // kernels, frozen: the full-size map never goes to memory.
    pooled_ = path_ == Path::single_channel_blocked && ctx.next.size() > ctx.absorbed &&
              (act() == "relu" || act() == "linear") && pools_2x2(*ctx.next[ctx.absorbed]);
    if (pooled_) ctx.absorbed += 1;

    // Winograd without oneDNN's (AVX-512 only): graphrun's own, on channels-last data.
    if (path_ == Path::onednn && winograd() && own_winograd_fits() && !onednn_winograd(src_dims, dst_dims, eng))
      path_ = Path::winograd;
    if (path_ == Path::winograd)
      winograd_ = Winograd3x3({ctx.batch, in_[0], filters_, in_[1], in_[2], wh_.out, ww_.out, wh_.pad_l, ww_.pad_l,
                               extent(ctx, 1), extent(ctx, 2)});
    winograd_sources_ = {};

    std::optional<Passes> chosen;
    if (path_ == Path::winograd) {
      chosen = Passes{};
      chosen->src = tagged(src_dims, tag::nhwc);
      chosen->dst = tagged(dst_dims, tag::nhwc);
      chosen->fused = act() == "relu";  // applied at the store
    } else if (path_ == Path::single_channel_blocked) {
      chosen = Passes{};
      chosen->src = tagged(src_dims, tag::nchw);
      chosen->dst = tagged(dst_dims, block == 16 ? tag::nChw16c : tag::nChw8c);
      chosen->fused = act() == "relu";  // applied at the store
    } else if (path_ == Path::single_channel) {
      chosen = Passes{};
      chosen->src = tagged(src_dims, tag::nchw);
      chosen->dst = tagged(dst_dims, tag::nchw);
      chosen->fused = act() == "relu" && !need_data && !need_weights;  // relu applied at the store
    }
    std::vector<std::pair<tag, tag>> order = layout_order(in_[0], filters_, dnnl_data);
    if (layout_ == "nchw") order = {{tag::nchw, tag::nchw}};
    if (layout_ == "nhwc") order = {{tag::nhwc, tag::nhwc}};
    if (layout_ == "blocked") order = {{tag::any, tag::any}};
    std::vector<bool> algorithms{false};
    if (winograd()) algorithms = algorithm_ == "winograd" ? std::vector<bool>{true} : std::vector<bool>{true, false};
    for (auto [s, d] : order) {
      if (path_ != Path::onednn) break;
      for (bool wino : algorithms) {
        std::optional<Passes> p =
            try_layout(tagged(src_dims, s), tagged(dst_dims, d), dnnl_data, need_weights, wino, eng);
        if (!p) continue;
        if (!chosen || !p->any_ref()) chosen = std::move(p);
        if (!chosen->any_ref()) break;
      }
      if (chosen && !chosen->any_ref()) break;
    }
    if (!chosen && algorithm_ == "winograd")
      throw Error("conv2d: no Winograd convolution for input " + to_string(in_) +
                  " on this machine (graphrun's needs a 3x3 kernel at stride 1, oneDNN's AVX-512); use "
                  "algorithm: auto or direct");
    if (!chosen) throw Error("conv2d: oneDNN offers no convolution for input " + to_string(in_));
    // The direct data gradient writes a plain single-channel image (nchw and nhwc alike).
    const bool direct_data = single_channel && path_ != Path::winograd &&
                             (chosen->src == tagged(src_dims, tag::nchw) || chosen->src == tagged(src_dims, tag::nhwc));
    if (single_channel && !direct_data) {
      std::optional<Passes> with_data = try_layout(chosen->src, chosen->dst, true, need_weights, false, eng);
      if (!with_data) throw Error("conv2d: oneDNN offers no data gradient for input " + to_string(in_));
      chosen = std::move(with_data);
    }
    Passes& p = *chosen;

    impls_.clear();
    auto note = [&](const std::string& pass, const dnnl::primitive_desc_base& pd) {
      log_primitive(ctx.verbose, "conv2d: " + pass, pd);
      impls_.push_back(impl_name(pd));
    };
    const memory::desc plain_w = plain_desc({filters_, in_[0], kernel_[0], kernel_[1]});

    w_fwd_ = {};
    fwd_ = {};
    if (path_ == Path::winograd) {
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
    } else if (one_channel_kernels()) {
      log_implementation(ctx.verbose, "conv2d: forward", own_impl());
      impls_.push_back(own_impl());
    } else {
      fwd_ = conv_fwd(p.fwd);
      note("forward", p.fwd);
      stage(w_fwd_, plain_w, p.fwd.weights_desc(), eng, "forward weights reorder", note);
    }
    fwd_sources_ = {};
    folded_w_ = next_ ? memory(plain_w, eng) : memory();
    folded_b_ = next_ ? memory(memory::desc({filters_}, memory::data_type::f32, tag::x), eng) : memory();

    // Activations: y = act(z) in place on the output; backward needs only y (use_dst).
    act_fwd_ = {};
    tanh_ = {};
    act_bwd_ = {};
    dz_ = {};
    if (act() != "linear") {
      const auto prop = need_data || need_weights ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
      dnnl::eltwise_forward::primitive_desc act_pd({prop, use_dst_alg(), p.dst}, eng);
      if (!p.fused && act() == "tanh") {
        tanh_ = TanhForward(p.dst, eng);
        act_fwd_ = tanh_.primitive;
        log_implementation(ctx.verbose, "conv2d: activation forward (tanh)", tanh_.impl);
        impls_.push_back(tanh_.impl);
      } else if (!p.fused) {
        act_fwd_ = dnnl::eltwise_forward(act_pd);
        note("activation forward", act_pd);
      }
      if (need_data || need_weights) {
        dnnl::eltwise_backward::primitive_desc bwd_pd({use_dst_alg(), p.dst, p.dst}, eng, act_pd);
        act_bwd_ = dnnl::eltwise_backward(bwd_pd);
        note("activation backward", bwd_pd);
        dz_ = memory(p.dst, eng);
      }
    }

    bwd_data_ = {};
    w_bwd_data_ = {};
    reuse_fwd_weights_ = false;
    // Few input channels, channels-last, stride 1, no padding: the data gradient as a
    // matrix product (gemm_data_gradient.hpp), oneDNN's kernel leaves its vectors mostly empty.
    const bool gemm_data = p.bwd_data && in_[0] <= kGemmDataChannels && p.src == tagged(src_dims, tag::nhwc) &&
                           p.dst == tagged(dst_dims, tag::nhwc) && strides_[0] == 1 && strides_[1] == 1 &&
                           wh_.pad_l == 0 && ww_.pad_l == 0 && wh_.out == in_[1] - kernel_[0] + 1 &&
                           ww_.out == in_[2] - kernel_[1] + 1;
    data_path_ = !need_data                ? DataPath::none
                 : path_ == Path::winograd ? DataPath::winograd
                 : direct_data             ? DataPath::single_channel
                 : gemm_data               ? DataPath::gemm
                 : p.bwd_data              ? DataPath::onednn
                                           : DataPath::none;
    if (data_path_ == DataPath::gemm) {
      gemm_data_gradient_ = GemmDataGradient({ctx.batch, in_[0], filters_, in_[1], in_[2], kernel_[0], kernel_[1]});
      log_implementation(ctx.verbose, "conv2d: backward data", kGemmDataImpl);
      impls_.push_back(kGemmDataImpl);
    } else if (data_path_ == DataPath::onednn) {
      bwd_data_ = conv_bwd_data(p.bwd_data);
      note("backward data", p.bwd_data);
      reuse_fwd_weights_ = p.bwd_data.weights_desc() == p.fwd.weights_desc();
      if (!reuse_fwd_weights_)
        stage(w_bwd_data_, plain_w, p.bwd_data.weights_desc(), eng, "backward data weights reorder", note);
    }

    dz_to_plain_ = {};
    dz_plain_ = {};
    if (data_path_ == DataPath::single_channel) {
      const memory::desc plain_dz = tagged(dst_dims, tag::nchw);
      if (p.dst != plain_dz) {
        dz_plain_ = memory(plain_dz, eng);
        dnnl::reorder::primitive_desc pd(eng, p.dst, eng, plain_dz);
        dz_to_plain_ = dnnl::reorder(pd);
        note("backward data gradient reorder", pd);
      }
      log_implementation(ctx.verbose, "conv2d: backward data", "graphrun:single_channel");
      impls_.push_back("graphrun:single_channel");
    }

    bwd_weights_ = {};
    dw_ = {};
    own_weights_ = one_channel_kernels() && need_weights;
    if (own_weights_) {
      log_implementation(ctx.verbose, "conv2d: backward weights", own_impl());
      impls_.push_back(own_impl());
    }
    if (p.bwd_weights) {
      bwd_weights_ = conv_bwd_weights(p.bwd_weights);
      note("backward weights", p.bwd_weights);
      stage(dw_, p.bwd_weights.diff_weights_desc(), plain_w, eng, "weight gradient reorder", note);
    }

    ctx.inputs[0] = p.src;
    return p.dst;
  }

  void bind(const Bindings& b) override {
    b_ = b;
    if (pooled_ && out().dims() != memory::dims{geometry_.batch, filters_, wh_.out / 2, ww_.out / 2})
      throw Error("conv2d: the max pool folded into it planned an output of dims it does not compute");
    if (pooled_ && out().desc() != tagged(out().dims(), blocked_filters(geometry_) == 16 ? tag::nChw16c : tag::nChw8c))
      throw Error("conv2d: the max pool folded into it planned an output layout it does not write");
    if (b.input_grads.at(0) && data_path_ == DataPath::none)
      throw Error("conv2d: an input gradient is bound but was not planned");
    if (!b.param_grads.empty() && b.param_grads[0] && !bwd_weights_ && !own_weights_ && path_ != Path::winograd)
      throw Error("conv2d: parameter gradients are bound but were not planned");
    memory src = in(0).memory(), dst = out().memory();
    memory kernel = param(0).memory();
    memory w_fwd = w_fwd_.copy ? w_fwd_.mem : next_ ? folded_w_ : kernel;

    fwd_args_ = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w_fwd}, {DNNL_ARG_DST, dst}};
    if (next_) fwd_args_[DNNL_ARG_BIAS] = folded_b_;
    else if (use_bias_) fwd_args_[DNNL_ARG_BIAS] = param(1).memory();
    act_fwd_args_ = tanh_ ? tanh_.args(dst, dst) : ArgMap{{DNNL_ARG_SRC, dst}, {DNNL_ARG_DST, dst}};

    if (!b.output_grad) return;  // backward will not run
    memory dy = out_grad().memory();
    memory dz = act_bwd_ ? dz_ : dy;
    act_bwd_args_ = {{DNNL_ARG_DST, dst}, {DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_SRC, dz}};
    dz_ready_ = dz;
    dz_for_data_ = dz_plain_ ? dz_plain_ : dz;
    if (dz_plain_) dz_plain_args_ = {{DNNL_ARG_FROM, dz}, {DNNL_ARG_TO, dz_plain_}};
    if (in_grad(0) && data_path_ == DataPath::onednn) {
      memory w = reuse_fwd_weights_ ? w_fwd : (w_bwd_data_.copy ? w_bwd_data_.mem : kernel);
      bwd_data_args_ = {{DNNL_ARG_DIFF_DST, dz}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DIFF_SRC, in_grad(0)->memory()}};
    }
    if (!b.param_grads.empty() && param_grad(0)) {
      memory dw = dw_.copy ? dw_.mem : param_grad(0)->memory();
      bwd_weights_args_ = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, dz}, {DNNL_ARG_DIFF_WEIGHTS, dw}};
      if (use_bias_) bwd_weights_args_[DNNL_ARG_DIFF_BIAS] = param_grad(1)->memory();
    }
  }

  void forward(ExecContext& ctx) override {
    stage_forward_weights(ctx.stream);
    if (path_ == Path::winograd) {
      ctx.stream.wait();  // the input's producer has finished
      const float* w = next_ ? static_cast<const float*>(folded_w_.get_data_handle()) : param(0).data();
      // Fixed weights (a frozen node) are transformed again only when their values change.
      if (!weights_fixed_ || winograd_sources_.changed({{w, size_t(param(0).size())}})) winograd_.transform_weights(w);
      const float* bias = next_ ? static_cast<const float*>(folded_b_.get_data_handle())
                                : use_bias_ ? param(1).data() : nullptr;
      winograd_.forward(in(0).data(), bias, act() == "relu", out().data());
    } else if (one_channel_kernels()) {
      ctx.stream.wait();  // the input's producer has finished
      const float* w = next_ ? static_cast<const float*>(folded_w_.get_data_handle()) : param(0).data();
      const float* bias = next_ ? static_cast<const float*>(folded_b_.get_data_handle())
                                : use_bias_ ? param(1).data() : nullptr;
      const bool relu = act() == "relu" && !act_fwd_;
      if (path_ == Path::single_channel_blocked)
        single_channel_forward_blocked(geometry_, in(0).data(), w, bias, relu, out().data(), forward_scratch_, pooled_);
      else
        single_channel_forward(geometry_, in(0).data(), w, bias, relu, out().data(), forward_scratch_);
    } else {
      fwd_.execute(ctx.stream, fwd_args_);
    }
    if (act_fwd_) act_fwd_.execute(ctx.stream, act_fwd_args_);
  }

  void backward(ExecContext& ctx) override {
    if (!b_.output_grad) return;
    const bool want_data = in_grad(0) != nullptr;
    const bool want_weights = !b_.param_grads.empty() && param_grad(0) != nullptr;
    if (!want_data && !want_weights) return;
    if (act_bwd_) act_bwd_.execute(ctx.stream, act_bwd_args_);
    if (path_ == Path::winograd) {
      ctx.stream.wait();
      winograd_.backward(in(0).data(), static_cast<const float*>(dz_for_data_.get_data_handle()),
                         want_data ? in_grad(0)->data() : nullptr, want_weights ? param_grad(0)->data() : nullptr,
                         want_weights && use_bias_ ? param_grad(1)->data() : nullptr);
      return;
    }
    if (want_data && data_path_ == DataPath::single_channel) {
      if (dz_to_plain_) dz_to_plain_.execute(ctx.stream, dz_plain_args_);
      ctx.stream.wait();
      single_channel_data_gradient(geometry_, static_cast<const float*>(dz_for_data_.get_data_handle()),
                                   param(0).data(), in_grad(0)->data(), data_scratch_);
    } else if (want_data && data_path_ == DataPath::gemm) {
      ctx.stream.wait();
      gemm_data_gradient_.compute(static_cast<const float*>(dz_ready_.get_data_handle()), param(0).data(),
                                  in_grad(0)->data());
    } else if (want_data) {
      if (!reuse_fwd_weights_ && w_bwd_data_.copy)
        w_bwd_data_.reorder.execute(ctx.stream, param(0).memory(), w_bwd_data_.mem);
      bwd_data_.execute(ctx.stream, bwd_data_args_);
    }
    if (want_weights && own_weights_) {
      ctx.stream.wait();
      const float* dz = static_cast<const float*>(dz_ready_.get_data_handle());
      float* db = use_bias_ ? param_grad(1)->data() : nullptr;
      if (path_ == Path::single_channel_blocked)
        single_channel_weight_gradient_blocked(geometry_, in(0).data(), dz, param_grad(0)->data(), db, weight_scratch_);
      else
        single_channel_weight_gradient(geometry_, in(0).data(), dz, param_grad(0)->data(), db, weight_scratch_);
    } else if (want_weights) {
      bwd_weights_.execute(ctx.stream, bwd_weights_args_);
      if (dw_.copy) dw_.reorder.execute(ctx.stream, dw_.mem, param_grad(0)->memory());
    }
  }

  std::vector<std::string> implementations() const override { return impls_; }

 private:
  // The activation computed here: the node's own, or the relu of a folded batch_norm.
  const std::string& act() const {
    static const std::string relu = "relu";
    return next_relu_ ? relu : activation_;
  }

  // Brings the forward weights up to date: the kernel reordered to the primitive's layout,
  // or folded with the next node's affine map. Fixed weights (a frozen node) are redone
  // only when their values change.
  void stage_forward_weights(dnnl::stream& s) {
    const size_t nw = size_t(param(0).size());
    const float* bias = use_bias_ ? param(1).data() : nullptr;
    if (next_) {
      next_->channel_affine(affine_);
      if (weights_fixed_ && !fwd_sources_.changed({{param(0).data(), nw},
                                                   {bias, bias ? size_t(filters_) : 0},
                                                   {affine_.scale.data(), affine_.scale.size()},
                                                   {affine_.shift.data(), affine_.shift.size()}}))
        return;
      fold_affine(param(0).data(), bias, affine_, filters_, int64_t(nw) / filters_,
                  static_cast<float*>(folded_w_.get_data_handle()),
                  static_cast<float*>(folded_b_.get_data_handle()));
      if (w_fwd_.copy) w_fwd_.reorder.execute(s, folded_w_, w_fwd_.mem);
      return;
    }
    if (!w_fwd_.copy) return;
    if (weights_fixed_ && !fwd_sources_.changed({{param(0).data(), nw}})) return;
    w_fwd_.reorder.execute(s, param(0).memory(), w_fwd_.mem);
  }

  dnnl::algorithm use_dst_alg() const {
    if (act() == "relu") return dnnl::algorithm::eltwise_relu_use_dst_for_bwd;
    if (act() == "sigmoid") return dnnl::algorithm::eltwise_logistic_use_dst_for_bwd;
    return dnnl::algorithm::eltwise_tanh_use_dst_for_bwd;
  }

  // Winograd is tried when asked, or (auto) on a 3x3 stride-1 layer with 16+ channels on
  // each side, where oneDNN's avx512 Winograd kernels apply; where it is unavailable,
  // auto falls back to the direct algorithm.
  bool winograd() const {
    if (algorithm_ != "auto") return algorithm_ == "winograd";
    return kernel_ == std::vector<int64_t>{3, 3} && strides_ == std::vector<int64_t>{1, 1} && in_[0] >= 16 &&
           filters_ >= 16;
  }

  // The output rows (axis 1) or columns (axis 2) the readers use; 0: all.
  static int64_t extent(const PlanContext& ctx, size_t axis) {
    return ctx.output_extent.empty() ? 0 : ctx.output_extent.at(axis);
  }

  // graphrun's Winograd (winograd.hpp) covers 3x3 kernels at stride 1.
  bool own_winograd_fits() const {
    return kernel_ == std::vector<int64_t>{3, 3} && strides_ == std::vector<int64_t>{1, 1} && layout_ != "nchw" &&
           layout_ != "blocked";
  }

  // Whether oneDNN has Winograd kernels for this layer here (it has them for AVX-512).
  bool onednn_winograd(const memory::dims& src_dims, const memory::dims& dst_dims, const dnnl::engine& eng) const {
    return try_layout(memory::desc(src_dims, memory::data_type::f32, tag::any),
                      memory::desc(dst_dims, memory::data_type::f32, tag::any), false, false, true, eng)
        .has_value();
  }

  // Only relu is fused: tanh/sigmoid post-ops were never faster than a separate in-place
  // eltwise and up to 5x slower on the gemm and nhwc (brgconv) paths; relu post-ops cost
  // nothing on jit/brgconv but 10-20% on gemm, which is then run unfused.
  std::optional<Passes> try_layout(const memory::desc& src, const memory::desc& dst, bool need_data,
                                   bool need_weights, bool use_winograd, const dnnl::engine& eng) const {
    const memory::dims w_dims{filters_, in_[0], kernel_[0], kernel_[1]};
    const memory::desc w_any(w_dims, memory::data_type::f32, tag::any);
    const memory::desc bias({filters_}, memory::data_type::f32, tag::x);
    const memory::dims strides{strides_[0], strides_[1]}, pad_l{wh_.pad_l, ww_.pad_l}, pad_r{wh_.pad_r, ww_.pad_r};
    const auto direct = dnnl::algorithm::convolution_direct;
    // Winograd (F(4x4, 3x3)) does fewer multiplications: measured 1.7x faster forward and
    // weight gradient on R1's 32->64 layer, but no faster for the data gradient.
    const auto wino = use_winograd ? dnnl::algorithm::convolution_winograd : direct;
    try {
      Passes p;
      // Inference Winograd wants its weights pre-transformed (a reorder of 0.3-0.7 ms on
      // R1's second layer): fine for fixed weights, which are transformed once.
      const bool inference = !need_data && !need_weights;
      const auto prop = inference ? dnnl::prop_kind::forward_inference : dnnl::prop_kind::forward_training;
      const bool with_bias = use_bias_ || next_;
      conv_fwd::desc fd = with_bias ? conv_fwd::desc(prop, wino, src, w_any, bias, dst, strides, pad_l, pad_r)
                                    : conv_fwd::desc(prop, wino, src, w_any, dst, strides, pad_l, pad_r);
      if (act() == "relu") {
        dnnl::post_ops ops;
        ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
        dnnl::primitive_attr attr;
        attr.set_post_ops(ops);
        p.fwd = conv_fwd::primitive_desc(fd, attr, eng);
        p.fused = std::string(p.fwd.impl_info_str()).find("gemm") == std::string::npos;
      }
      if (!p.fused) p.fwd = conv_fwd::primitive_desc(fd, eng);
      p.src = is_any(src) ? p.fwd.src_desc() : src;
      p.dst = is_any(dst) ? p.fwd.dst_desc() : dst;
      if (need_data)
        p.bwd_data = conv_bwd_data::primitive_desc(
            conv_bwd_data::desc(algorithm_ == "winograd" ? wino : direct, p.src, w_any, p.dst, strides, pad_l, pad_r),
            eng, p.fwd);
      if (need_weights) {
        conv_bwd_weights::desc bd = use_bias_
                                        ? conv_bwd_weights::desc(wino, p.src, w_any, bias, p.dst, strides, pad_l, pad_r)
                                        : conv_bwd_weights::desc(wino, p.src, w_any, p.dst, strides, pad_l, pad_r);
        p.bwd_weights = conv_bwd_weights::primitive_desc(bd, eng, p.fwd);
      }
      return p;
    } catch (const dnnl::error&) {
      return std::nullopt;  // this layout is not implemented; try the next
    }
  }

  // Reorder `from` -> `to` unless they are equal; the private buffer holds whichever side
  // is not the plain parameter (or its gradient).
  template <class Note>
  static void stage(Staged& s, const memory::desc& from, const memory::desc& to, const dnnl::engine& eng,
                    const std::string& what, Note& note) {
    s = {};
    if (from == to) return;
    s.copy = true;
    const bool to_plain = is_plain(to);
    s.mem = memory(to_plain ? from : to, eng);
    dnnl::reorder::primitive_desc pd(eng, from, eng, to);
    s.reorder = dnnl::reorder(pd);
    note(what, pd);
  }

  int64_t filters_;
  std::vector<int64_t> kernel_, strides_;
  bool same_, use_bias_;
  std::string activation_;
  std::string layout_;  // "auto", or a layout forced for benchmarks and tests
  std::string algorithm_;
  Shape in_;
  Window wh_, ww_;

  conv_fwd fwd_;
  conv_bwd_data bwd_data_;
  conv_bwd_weights bwd_weights_;
  dnnl::primitive act_fwd_;  // eltwise, or tanh_'s binary
  TanhForward tanh_;
  dnnl::eltwise_backward act_bwd_;
  Staged w_fwd_, w_bwd_data_, dw_;
  bool weights_fixed_ = false;  // frozen: no optimizer changes them between steps
  SourceValues fwd_sources_;    // what the forward weights were last staged from
  const Node* next_ = nullptr;  // a folded batch_norm (PlanContext::next)
  bool pooled_ = false;         // a folded 2x2 max pool: out() is the pooled map
  bool next_relu_ = false;
  ChannelAffine affine_;
  memory folded_w_, folded_b_;  // plain kernel and bias with next_ folded in
  bool reuse_fwd_weights_ = false;
  GemmDataGradient gemm_data_gradient_;
  static constexpr int64_t kGemmDataChannels = 4;
  static constexpr const char* kGemmDataImpl = "graphrun:gemm_data_gradient";
  memory dz_;  // gradient before the activation
  // Who computes the forward pass: oneDNN; graphrun's one-channel kernels
  // (single_channel.hpp), which also take the weight gradient, for a few filters on plain
  // images or a multiple of the vector width written channel-blocked; or graphrun's
  // Winograd, which takes every pass.
  enum class Path { onednn, single_channel, single_channel_blocked, winograd };
  Path path_ = Path::onednn;
  bool one_channel_kernels() const { return path_ == Path::single_channel || path_ == Path::single_channel_blocked; }
  // Who computes the data gradient: oneDNN's primitive, the one-channel kernel, Winograd,
  // or a matrix product (gemm_data_gradient.hpp); none when it is not needed.
  enum class DataPath { none, onednn, single_channel, winograd, gemm };
  DataPath data_path_ = DataPath::none;
  bool own_weights_ = false;  // the weight gradient by the one-channel kernels
  const char* own_impl() const {
    if (pooled_) return "graphrun:single_channel_blocked+max_pool_2x2";
    return path_ == Path::single_channel_blocked ? "graphrun:single_channel_blocked" : "graphrun:single_channel";
  }

  // Whether `next` is a max pool that single_channel_forward_blocked can compute: 2x2
  // windows at stride 2 without padding, over this node's output.
  bool pools_2x2(const Node& next) const {
    const std::optional<PoolWindow> p = pool_window(next);
    return p && p->max && p->kernel_h == 2 && p->kernel_w == 2 && p->stride_h == 2 && p->stride_w == 2 &&
           p->pad_top == 0 && p->pad_left == 0 && p->out_h == wh_.out / 2 && p->out_w == ww_.out / 2;
  }
  Scratch forward_scratch_, data_scratch_, weight_scratch_;
  Winograd3x3 winograd_;
  SourceValues winograd_sources_;  // what winograd_'s weights were last transformed from
  static constexpr const char* kWinogradImpl = "graphrun:winograd_f2x2";
  // Up to this many filters the forward and weight gradient of a one-channel input are
  // computed here; beyond, oneDNN's blocked kernels fill their vectors with filters.
  static constexpr int64_t kOwnFilters = 8;
  ConvGeometry geometry_{};
  memory dz_ready_;                // the gradient before the activation, in the output's layout
  memory dz_plain_, dz_for_data_;  // dz as nchw for it (a reorder when dz is not)
  dnnl::reorder dz_to_plain_;
  ArgMap fwd_args_, act_fwd_args_, act_bwd_args_, bwd_data_args_, bwd_weights_args_, dz_plain_args_;
  std::vector<std::string> impls_;
};

}  // namespace

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
              {"layout", "auto", "auto (chosen per layer, avoiding reference kernels), nchw, nhwc or blocked"},
              {"algorithm", "auto", "auto, direct or winograd (3x3, stride 1, 16+ channels each side)"},
              {"kernel_initializer", "glorot_uniform", "initialiser of kernel [filters, in_channels, kh, kw]"},
              {"bias_initializer", "zeros", "initialiser of bias [filters]"},
              {"kernel_l2", "0", "L2 factor of the kernel"},
              {"bias_l2", "0", "L2 factor of the bias"}};
  op.make = [](const Attributes& a) { return std::make_unique<Conv2d>(a); };
  return op;
}

}  // namespace graphrun::conv
