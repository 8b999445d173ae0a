// The data gradient of conv2d as a matrix product (gemm_data_gradient.hpp): stride 1, no
// padding, channels-last input and output, after oneDNN's forward. oneDNN's direct
// kernel vectorises this pass over input channels, which few channels leave mostly empty.
#include "conv2d.hpp"

namespace graphrun::conv {

bool gemm_data_gradient_applies(const ConvLayer& layer, Pass pass, std::string& why) {
  const ConvGeometry& g = layer.g;
  if (pass != Pass::data_gradient) why = "it computes only the data gradient";
  else if (g.stride_h != 1 || g.stride_w != 1) why = "it needs stride 1";
  else if (g.pad_top != 0 || g.pad_left != 0 || g.out_h != g.in_h - g.kernel_h + 1 || g.out_w != g.in_w - g.kernel_w + 1)
    why = "it needs no padding";
  else if (layer.layout != "auto" && layer.layout != "nhwc")
    why = "it reads channels-last (nhwc) data, and layout is " + layer.layout;
  else return true;
  return false;
}

void Conv2d::plan_gemm_data_gradient(bool verbose) {
  gemm_data_gradient_ = GemmDataGradient({geometry_.batch, in_[0], filters_, in_[1], in_[2], kernel_[0], kernel_[1]});
  log_implementation(verbose, "conv2d: backward data", kGemmDataImpl);
  impls_.push_back(kGemmDataImpl);
}

void Conv2d::run_gemm_data_gradient(ExecContext& ctx) {
  ctx.stream.wait();
  gemm_data_gradient_.compute(static_cast<const float*>(dz_ready_.get_data_handle()), param(0).data(),
                              in_grad(0)->data());
}

}  // namespace graphrun::conv
