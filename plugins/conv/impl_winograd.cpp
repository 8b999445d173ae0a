// conv2d by graphrun's Winograd F(2x2, 3x3) (winograd.hpp): 3x3 stride-1 layers on
// channels-last data, every pass. The rule runs it where oneDNN has no Winograd kernels
// (oneDNN 2.6 has them for AVX-512 only); `implementation: winograd` runs it anywhere.
#include "conv2d.hpp"

namespace graphrun::conv {

bool winograd_applies(const ConvLayer& layer, Pass, std::string& why) {
  const ConvGeometry& g = layer.g;
  if (g.kernel_h != 3 || g.kernel_w != 3 || g.stride_h != 1 || g.stride_w != 1)
    why = "it needs a 3x3 kernel at stride 1";
  else if (layer.layout != "auto" && layer.layout != "nhwc")
    why = "it runs on channels-last (nhwc) data, and layout is " + layer.layout;
  else return true;
  return false;
}

namespace {
// The output rows (axis 1) or columns (axis 2) the readers use; 0: all.
int64_t extent(const PlanContext& ctx, size_t axis) { return ctx.output_extent.empty() ? 0 : ctx.output_extent.at(axis); }
}  // namespace

void Conv2d::plan_winograd(const PlanContext& ctx) {
  winograd_ = Winograd3x3({ctx.batch, in_[0], filters_, in_[1], in_[2], wh_.out, ww_.out, wh_.pad_l, ww_.pad_l,
                           extent(ctx, 1), extent(ctx, 2)});
}

void Conv2d::run_winograd_forward(ExecContext& ctx) {
  ctx.stream.wait();  // the input's producer has finished
  const float* w = forward_weights();
  // Fixed weights (a frozen node) are transformed again only when their values change.
  if (!weights_fixed_ || winograd_sources_.changed({{w, size_t(param(0).size())}})) winograd_.transform_weights(w);
  winograd_.forward(in(0).data(), forward_bias(), applied_ == Activation::relu, out().data());
}

void Conv2d::run_winograd_backward(ExecContext& ctx, bool want_data, bool want_weights) {
  ctx.stream.wait();
  winograd_.backward(in(0).data(), static_cast<const float*>(dz_for_data_.get_data_handle()),
                     want_data ? in_grad(0)->data() : nullptr, want_weights ? param_grad(0)->data() : nullptr,
                     want_weights && use_bias_ ? param_grad(1)->data() : nullptr);
}

}  // namespace graphrun::conv
