// The core family: input, flatten, dense, activation, dropout.
#include <graphrun/registry.hpp>

namespace graphrun::core {
OpInfo input_op();
OpInfo flatten_op();
OpInfo dense_op();
OpInfo activation_op();
OpInfo dropout_op();
}  // namespace graphrun::core

namespace {
void register_ops(graphrun::Registry& r) {
  r.add(graphrun::core::input_op());
  r.add(graphrun::core::flatten_op());
  r.add(graphrun::core::dense_op());
  r.add(graphrun::core::activation_op());
  r.add(graphrun::core::dropout_op());
}
}  // namespace

GRAPHRUN_PLUGIN(register_ops)
