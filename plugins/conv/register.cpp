// The conv family: convolution and pooling over [channels, height, width].
#include <graphrun/registry.hpp>

namespace graphrun::conv {
OpInfo conv2d_op();
OpInfo max_pool2d_op();
OpInfo avg_pool2d_op();
}  // namespace graphrun::conv

namespace {
void register_ops(graphrun::Registry& r) {
  r.add(graphrun::conv::conv2d_op());
  r.add(graphrun::conv::max_pool2d_op());
  r.add(graphrun::conv::avg_pool2d_op());
}
}  // namespace

GRAPHRUN_PLUGIN(register_ops)
