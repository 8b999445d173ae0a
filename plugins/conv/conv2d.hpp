#pragma once
// conv2d (Keras Conv2D) and the implementations it dispatches to, one file each:
//
//   implementation        passes                              file
//   onednn                forward, data and weight gradient   impl_onednn.cpp
//   one_channel           forward, data and weight gradient   impl_one_channel.cpp
//   one_channel_blocked   forward, weight gradient            impl_one_channel_blocked.cpp
//   winograd              forward, data and weight gradient   impl_winograd.cpp
//   gemm                  data gradient                       impl_gemm_data_gradient.cpp
//
// one_channel and one_channel_blocked are graphrun's kernels for layers with ONE input
// channel (one_channel_kernels.hpp): the first writes a plain nchw output, the second a
// channel-blocked one (nChw8c or nChw16c, the vector width of the CPU). winograd is
// graphrun's F(2x2, 3x3) (winograd.hpp), not oneDNN's (which `algorithm: winograd` asks
// oneDNN for). gemm is the data gradient as a matrix product (gemm_data_gradient.hpp).
//
// Each implementation says when it applies (`*_applies`); conv2d_dispatch.cpp holds the
// rule that picks one per layer, and the `implementation` and `data_gradient`
// attributes force one.
#include "affine_fold.hpp"
#include "common/activation_run.hpp"
#include "common/compute_copy.hpp"
#include "gemm_data_gradient.hpp"
#include "layout.hpp"
#include "one_channel_kernels.hpp"
#include "window.hpp"
#include "winograd.hpp"

#include <graphrun/error.hpp>
#include <graphrun/primitives.hpp>
#include <graphrun/registry.hpp>

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace graphrun::conv {

enum class Impl { onednn, one_channel, one_channel_blocked, winograd, gemm };
enum class Pass { forward, data_gradient, weight_gradient };

// What the choice of an implementation depends on, besides the CPU.
struct ConvLayer {
  int64_t in_c = 0, filters = 0;
  ConvGeometry g{};                 // with the batch being planned
  std::string layout, algorithm;    // the node's attributes (oneDNN's layout and algorithm)
  bool bf16 = false;                // computes in bf16 (PlanContext::compute)
};

// Whether an implementation computes `pass` of `layer` on this CPU; when not, `why` says
// what is missing. One per impl_*.cpp.
bool onednn_applies(const ConvLayer& layer, Pass pass, std::string& why);
bool one_channel_applies(const ConvLayer& layer, Pass pass, std::string& why);
bool one_channel_blocked_applies(const ConvLayer& layer, Pass pass, std::string& why);
bool winograd_applies(const ConvLayer& layer, Pass pass, std::string& why);
bool gemm_data_gradient_applies(const ConvLayer& layer, Pass pass, std::string& why);

// conv2d_dispatch.cpp: names, and the rule.
const char* impl_attr_name(Impl impl);
// The forward (and weight gradient) implementation: the forced one (`forced` is not
// "auto"; an Error when it does not apply), else the rule (which the forced data gradient
// `forced_data` may restrict). `onednn_winograd` tells whether oneDNN has Winograd kernels
// for the layer on this CPU (asked only when it matters).
Impl choose_forward(const ConvLayer& layer, const std::string& forced, const std::string& forced_data,
                    const std::function<bool()>& onednn_winograd);
// The data gradient before oneDNN has chosen its layouts: the forced one or the rule's
// first choice. `gemm` and `one_channel` are confirmed by confirm_data_gradient.
Impl choose_data_gradient(const ConvLayer& layer, Impl forward, const std::string& forced);
// Once the layouts are known: whether the data gradient stays as chosen. Returns the
// implementation to use (an Error when a forced one cannot run on these layouts).
Impl confirm_data_gradient(const ConvLayer& layer, Impl chosen, const std::string& forced, bool plain_src,
                           bool nhwc_both);
// The attribute values, for the op's declaration and the error messages.
extern const std::vector<std::string> kImplementationChoices, kDataGradientChoices;

inline constexpr const char* kWinogradImpl = "graphrun:winograd_f2x2";
inline constexpr const char* kGemmDataImpl = "graphrun:gemm_data_gradient";

using dnnl::memory;
using conv_fwd = dnnl::convolution_forward;
using conv_bwd_data = dnnl::convolution_backward_data;
using conv_bwd_weights = dnnl::convolution_backward_weights;

// oneDNN's primitive descriptors of one layout choice (impl_onednn.cpp); for graphrun's
// own forward implementations only the layouts (and possibly a data gradient).
struct Passes {
  memory::desc src, dst;                    // f32, as the tensors between nodes are
  memory::desc src_compute, dst_compute;    // as the primitives read src and diff_dst (bf16 copies)
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

class Conv2d : public Node {
 public:
  explicit Conv2d(const Attributes& a);
  Shape infer(const std::vector<Shape>& inputs) override;
  std::vector<ParamSpec> params(const std::vector<Shape>& inputs) const override;
  memory::desc plan(PlanContext& ctx) override;
  void bind(const Bindings& b) override;
  void forward(ExecContext& ctx) override;
  void backward(ExecContext& ctx) override;
  std::vector<std::string> implementations() const override { return impls_; }

 private:
  using Note = std::function<void(const std::string&, const dnnl::primitive_desc_base&)>;
  bool folds_affine() const { return bool(affine_source_); }
  void plan_activation(const Passes& p, bool training, const dnnl::engine& eng, bool verbose);
  const float* forward_weights() const;
  const float* forward_bias() const;

  // impl_onednn.cpp
  bool winograd() const;
  bool onednn_winograd(const memory::dims& src_dims, const memory::dims& dst_dims, const dnnl::engine& eng) const;
  std::optional<Passes> try_layout(const memory::desc& src, const memory::desc& dst, bool need_data,
                                   bool need_weights, bool use_winograd, const dnnl::engine& eng) const;
  Passes plan_onednn_layouts(const memory::dims& src_dims, const memory::dims& dst_dims, bool need_data,
                             bool need_weights, bool nhwc_only, const dnnl::engine& eng) const;
  void plan_onednn_forward(const Passes& p, const dnnl::engine& eng, const Note& note);
  void plan_onednn_data_gradient(const Passes& p, const dnnl::engine& eng, const Note& note);
  void plan_onednn_weight_gradient(const Passes& p, const dnnl::engine& eng, const Note& note);
  static void stage(Staged& s, const memory::desc& from, const memory::desc& to, const dnnl::engine& eng,
                    const std::string& what, const Note& note);
  void stage_forward_weights(dnnl::stream& s);
  void bind_onednn(memory src, memory dz);
  // impl_one_channel.cpp, impl_one_channel_blocked.cpp
  const char* own_impl() const;
  void run_one_channel_forward(ExecContext& ctx);
  void run_one_channel_weight_gradient(ExecContext& ctx);
  bool pools_2x2(const PoolWindow& window) const;
  void run_one_channel_blocked_forward(ExecContext& ctx);
  void run_one_channel_blocked_weight_gradient(ExecContext& ctx);
  void plan_one_channel_data_gradient(const memory::desc& dst, const memory::dims& dst_dims,
                                      const dnnl::engine& eng, bool verbose, const Note& note);
  void run_one_channel_data_gradient(ExecContext& ctx);
  // impl_winograd.cpp
  void plan_winograd(const PlanContext& ctx);
  void run_winograd_forward(ExecContext& ctx);
  void run_winograd_backward(ExecContext& ctx, bool want_data, bool want_weights);
  // impl_gemm_data_gradient.cpp
  void plan_gemm_data_gradient(bool verbose);
  void run_gemm_data_gradient(ExecContext& ctx);

  int64_t filters_;
  std::vector<int64_t> kernel_, strides_;
  bool same_, use_bias_;
  Activation activation_;
  std::string layout_;  // "auto", or a layout forced for benchmarks and tests
  std::string algorithm_;
  std::string forced_, forced_data_;  // the implementation and data_gradient attributes
  memory::data_type compute_ = memory::data_type::f32;  // PlanContext::compute
  Shape in_;
  Window wh_, ww_;
  ConvLayer layer_;
  Impl impl_ = Impl::onednn;          // forward and weight gradient
  std::optional<Impl> data_impl_;     // none when no input gradient is planned

  conv_fwd fwd_;
  conv_bwd_data bwd_data_;
  conv_bwd_weights bwd_weights_;
  activation::Planned act_fwd_, act_bwd_;  // none where the activation is fused or linear
  Staged w_fwd_, w_bwd_data_, dw_;
  ComputeCopy src_copy_, dz_copy_;  // the input and the gradient before the activation, in bf16
  bool weights_fixed_ = false;  // frozen: no optimizer changes them between steps
  DerivedWeights* derived_ = nullptr;  // forward weights and folded copies, shared by every plan
  // Absorbed from the epilogue offer (PlanContext::epilogue): a per-channel affine map folded
  // into the kernel and bias, the activation applied (own or absorbed), a 2x2 max pool.
  std::function<void(std::vector<float>&, std::vector<float>&)> affine_source_;
  std::vector<float> affine_scale_, affine_shift_;
  Activation applied_ = Activation::linear;
  bool pooled_ = false;         // out() is the pooled map
  memory folded_w_, folded_b_;  // plain kernel and bias with the affine map folded in
  bool reuse_fwd_weights_ = false;
  GemmDataGradient gemm_data_gradient_;
  memory dz_;                 // gradient before the activation
  bool own_weights_ = false;  // the weight gradient by the one-channel kernels
  Scratch forward_scratch_, data_scratch_, weight_scratch_;
  Winograd3x3 winograd_;
  SourceValues winograd_sources_;  // what winograd_'s weights were last transformed from
  ConvGeometry geometry_{};
  memory dz_ready_;                // the gradient before the activation, in the output's layout
  memory dz_plain_, dz_for_data_;  // dz as nchw for it (a reorder when dz is not)
  dnnl::reorder dz_to_plain_;
  ArgMap fwd_args_, act_fwd_args_, act_bwd_args_, bwd_data_args_, bwd_weights_args_, dz_plain_args_;
  std::vector<std::string> impls_;
};

}  // namespace graphrun::conv
