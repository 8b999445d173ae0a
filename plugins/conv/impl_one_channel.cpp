// conv2d by graphrun's kernels for ONE input channel with a plain nchw output
// (one_channel_kernels.hpp): forward and weight gradient at stride 1, the data gradient at
// any stride. oneDNN's kernels vectorise over channels, which one input channel leaves
// mostly empty; these run along image rows instead.
#include "conv2d.hpp"

namespace graphrun::conv {

using tag = memory::format_tag;

bool one_channel_applies(const ConvLayer& layer, Pass pass, std::string& why) {
  if (layer.in_c != 1) why = "it needs one input channel, the layer has " + std::to_string(layer.in_c);
  else if (layer.layout != "auto") why = "it writes its own layouts, and layout is " + layer.layout;
  else if (pass != Pass::data_gradient && !supports_direct(layer.g)) why = "its forward and weight gradient need stride 1";
  else return true;
  return false;
}

const char* Conv2d::own_impl() const {
  if (pooled_) return "graphrun:one_channel_blocked+max_pool_2x2";
  return impl_ == Impl::one_channel_blocked ? "graphrun:one_channel_blocked" : "graphrun:one_channel";
}

void Conv2d::run_one_channel_forward(ExecContext& ctx) {
  ctx.stream.wait();  // the input's producer has finished
  const bool relu = applied_ == Activation::relu && !act_fwd_;
  one_channel_forward(geometry_, in(0).data(), forward_weights(), forward_bias(), relu, out().data(), forward_scratch_);
}

void Conv2d::run_one_channel_weight_gradient(ExecContext& ctx) {
  ctx.stream.wait();
  const float* dz = static_cast<const float*>(dz_ready_.get_data_handle());
  float* db = use_bias_ ? param_grad(1)->data() : nullptr;
  one_channel_weight_gradient(geometry_, in(0).data(), dz, param_grad(0)->data(), db, weight_scratch_);
}

// The data gradient reads dz as a plain nchw image (a reorder when the output is not).
void Conv2d::plan_one_channel_data_gradient(const memory::desc& dst, const memory::dims& dst_dims,
                                            const dnnl::engine& eng, bool verbose, const Note& note) {
  const memory::desc plain_dz = tagged(dst_dims, tag::nchw);
  if (dst != plain_dz) {
    dz_plain_ = memory(plain_dz, eng);
    dnnl::reorder::primitive_desc pd(eng, dst, eng, plain_dz);
    dz_to_plain_ = dnnl::reorder(pd);
    note("backward data gradient reorder", pd);
  }
  log_implementation(verbose, "conv2d: backward data", "graphrun:one_channel");
  impls_.push_back("graphrun:one_channel");
}

void Conv2d::run_one_channel_data_gradient(ExecContext& ctx) {
  if (dz_to_plain_) dz_to_plain_.execute(ctx.stream, dz_plain_args_);
  ctx.stream.wait();
  one_channel_data_gradient(geometry_, static_cast<const float*>(dz_for_data_.get_data_handle()), param(0).data(),
                            in_grad(0)->data(), data_scratch_);
}

}  // namespace graphrun::conv
