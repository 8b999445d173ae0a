// Which implementation computes each pass of a conv2d layer (conv2d.hpp).
//
// A layer that computes in bf16 (PlanContext::compute) runs oneDNN's kernels only: graphrun's
// own compute in f32. Otherwise:
// Forward and weight gradient (always the same implementation):
//   1. `implementation` forced: that one, or an Error naming the choices when it does not
//      apply to the layer.
//   2. `data_gradient: gemm` forced: onednn (gemm reads oneDNN's channels-last layouts).
//   3. One input channel, `layout: auto`, `algorithm` not winograd: one_channel for up to
//      kOwnFilters filters at stride 1, else one_channel_blocked where it applies (3x3,
//      stride 1, filters a multiple of the CPU's vector width); beyond, oneDNN's blocked
//      kernels fill their vectors with filters.
//   4. Winograd wanted (`algorithm: winograd`, or auto on a 3x3 stride-1 layer with 16+
//      channels on each side) where oneDNN has no Winograd kernels (it has them for
//      AVX-512 only) and graphrun's applies: winograd.
//   5. Otherwise onednn.
// Data gradient (when an input gradient is needed):
//   1. winograd forward: winograd (one pass computes both gradients).
//   2. `data_gradient` forced: that one (an Error when it does not apply).
//   3. One input channel, `layout: auto`: one_channel, when oneDNN's forward (if it runs
//      it) chose a plain input; else oneDNN's.
//   4. At most kGemmDataChannels input channels, channels-last input and output, stride 1,
//      no padding: gemm (oneDNN's kernel vectorises this pass over input channels).
//   5. Otherwise onednn.
#include "conv2d.hpp"

namespace graphrun::conv {
namespace {

constexpr int64_t kOwnFilters = 8;
constexpr int64_t kGemmDataChannels = 4;

bool applies(Impl impl, const ConvLayer& layer, Pass pass, std::string& why) {
  if (layer.bf16 && impl != Impl::onednn) {
    why = "graphrun's own kernels compute in f32 only, and this model computes in bf16";
    return false;
  }
  switch (impl) {
    case Impl::onednn: return onednn_applies(layer, pass, why);
    case Impl::one_channel: return one_channel_applies(layer, pass, why);
    case Impl::one_channel_blocked: return one_channel_blocked_applies(layer, pass, why);
    case Impl::winograd: return winograd_applies(layer, pass, why);
    case Impl::gemm: return gemm_data_gradient_applies(layer, pass, why);
  }
  return false;
}

bool applies(Impl impl, const ConvLayer& layer, Pass pass) {
  std::string why;
  return applies(impl, layer, pass, why);
}

Impl parse(const std::string& name) {
  for (Impl i : {Impl::onednn, Impl::one_channel, Impl::one_channel_blocked, Impl::winograd, Impl::gemm})
    if (name == impl_attr_name(i)) return i;
  throw Error("conv2d: no implementation '" + name + "'");
}

std::string list(const std::vector<std::string>& choices) {
  std::string s;
  for (size_t i = 1; i < choices.size(); ++i) s += (i > 1 ? ", " : "") + choices[i];  // [0] is auto
  return s;
}

[[noreturn]] void refuse(const std::string& attr, const std::string& value, const std::string& why,
                         const std::vector<std::string>& choices) {
  throw Error("conv2d: " + attr + ": " + value + " cannot compute this layer (" + why + "); choose auto or one of " +
              list(choices) + " that applies");
}

}  // namespace

const std::vector<std::string> kImplementationChoices{"auto", "onednn", "one_channel", "one_channel_blocked",
                                                      "winograd"};
const std::vector<std::string> kDataGradientChoices{"auto", "onednn", "one_channel", "winograd", "gemm"};

const char* impl_attr_name(Impl impl) {
  switch (impl) {
    case Impl::onednn: return "onednn";
    case Impl::one_channel: return "one_channel";
    case Impl::one_channel_blocked: return "one_channel_blocked";
    case Impl::winograd: return "winograd";
    case Impl::gemm: return "gemm";
  }
  return "?";
}

Impl choose_forward(const ConvLayer& layer, const std::string& forced, const std::string& forced_data,
                    const std::function<bool()>& onednn_winograd) {
  if (forced != "auto") {
    const Impl impl = parse(forced);
    std::string why;
    if (!applies(impl, layer, Pass::forward, why)) refuse("implementation", forced, why, kImplementationChoices);
    return impl;
  }
  if (forced_data == "gemm") return Impl::onednn;
  const ConvGeometry& g = layer.g;
  if (layer.in_c == 1 && layer.layout == "auto" && layer.algorithm != "winograd") {
    if (layer.filters <= kOwnFilters && applies(Impl::one_channel, layer, Pass::forward)) return Impl::one_channel;
    if (applies(Impl::one_channel_blocked, layer, Pass::forward)) return Impl::one_channel_blocked;
  }
  const bool k3s1 = g.kernel_h == 3 && g.kernel_w == 3 && g.stride_h == 1 && g.stride_w == 1;
  const bool wanted = layer.algorithm == "winograd" ||
                      (layer.algorithm == "auto" && k3s1 && layer.in_c >= 16 && layer.filters >= 16);
  if (wanted && applies(Impl::winograd, layer, Pass::forward) && !onednn_winograd()) return Impl::winograd;
  return Impl::onednn;
}

Impl choose_data_gradient(const ConvLayer& layer, Impl forward, const std::string& forced) {
  if (forward == Impl::winograd) {
    if (forced != "auto" && forced != "winograd")
      refuse("data_gradient", forced, "implementation winograd computes the data gradient itself", kDataGradientChoices);
    return Impl::winograd;
  }
  if (forced != "auto") {
    const Impl impl = parse(forced);
    std::string why;
    if (impl == Impl::winograd) why = "it needs implementation: winograd";
    else if (!applies(impl, layer, Pass::data_gradient, why)) {
    } else if (impl == Impl::gemm && forward != Impl::onednn) why = "it needs oneDNN's channels-last forward";
    else return impl;
    refuse("data_gradient", forced, why, kDataGradientChoices);
  }
  if (layer.in_c == 1 && applies(Impl::one_channel, layer, Pass::data_gradient)) return Impl::one_channel;
  return Impl::onednn;
}

Impl confirm_data_gradient(const ConvLayer& layer, Impl chosen, const std::string& forced, bool plain_src,
                           bool nhwc_both) {
  if (chosen == Impl::one_channel && !plain_src) {
    if (forced != "auto")
      refuse("data_gradient", forced, "oneDNN's forward chose a blocked input layout", kDataGradientChoices);
    return Impl::onednn;
  }
  if (chosen == Impl::gemm && !nhwc_both)
    refuse("data_gradient", forced, "oneDNN's forward chose layouts that are not channels-last", kDataGradientChoices);
  // The layouts oneDNN chose are what count here, whatever the layout attribute asked for.
  ConvLayer chosen_layout = layer;
  chosen_layout.layout = "auto";
  if (chosen == Impl::onednn && forced == "auto" && layer.in_c <= kGemmDataChannels && nhwc_both &&
      applies(Impl::gemm, chosen_layout, Pass::data_gradient))
    return Impl::gemm;
  return chosen;
}

}  // namespace graphrun::conv
