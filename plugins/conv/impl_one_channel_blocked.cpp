// conv2d by graphrun's kernels for ONE input channel and many filters, written
// channel-blocked (one_channel_blocked_kernels.cpp): forward and weight gradient of 3x3
// stride-1 layers whose filters fill whole vectors; a following 2x2 max pool can be
// computed in the same forward pass. The data gradient is one_channel's.
#include "conv2d.hpp"

#include "pool2d.hpp"

namespace graphrun::conv {

bool one_channel_blocked_applies(const ConvLayer& layer, Pass pass, std::string& why) {
  if (pass == Pass::data_gradient) why = "it computes no data gradient (one_channel does)";
  else if (layer.in_c != 1) why = "it needs one input channel, the layer has " + std::to_string(layer.in_c);
  else if (layer.layout != "auto") why = "it writes its own layouts, and layout is " + layer.layout;
  else if (blocked_filters(layer.g) == 0)
    why = "it needs a 3x3 kernel at stride 1 and filters a multiple of the CPU's vector width (8 with AVX2, 16 "
          "with AVX-512)";
  else return true;
  return false;
}

// Whether `next` is a max pool that one_channel_blocked_forward can compute: 2x2 windows
// at stride 2 without padding, over this node's output.
bool Conv2d::pools_2x2(const PoolWindow& p) const {
  return p.max && p.kernel_h == 2 && p.kernel_w == 2 && p.stride_h == 2 && p.stride_w == 2 && p.pad_top == 0 &&
         p.pad_left == 0 && p.out_h == wh_.out / 2 && p.out_w == ww_.out / 2;
}

void Conv2d::run_one_channel_blocked_forward(ExecContext& ctx) {
  ctx.stream.wait();  // the input's producer has finished
  const bool relu = applied_ == Activation::relu && !act_fwd_;
  one_channel_blocked_forward(geometry_, in(0).data(), forward_weights(), forward_bias(), relu, out().data(),
                              forward_scratch_, pooled_);
}

void Conv2d::run_one_channel_blocked_weight_gradient(ExecContext& ctx) {
  ctx.stream.wait();
  const float* dz = static_cast<const float*>(dz_ready_.get_data_handle());
  float* db = use_bias_ ? param_grad(1)->data() : nullptr;
  one_channel_blocked_weight_gradient(geometry_, in(0).data(), dz, param_grad(0)->data(), db, weight_scratch_);
}

}  // namespace graphrun::conv
