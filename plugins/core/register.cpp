// The core family: input, flatten, dense, activation, dropout.
#include <graphrun/registry.hpp>

namespace graphrun::core {
OpInfo input_op();
}

namespace {
void register_ops(graphrun::Registry& r) {
  r.add(graphrun::core::input_op());
}
}  // namespace

GRAPHRUN_PLUGIN(register_ops)
