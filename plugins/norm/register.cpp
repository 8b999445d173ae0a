// The norm family: batch normalisation.
#include <graphrun/registry.hpp>

namespace graphrun::norm {
OpInfo batch_norm_op();
}

namespace {
void register_ops(graphrun::Registry& r) { r.add(graphrun::norm::batch_norm_op()); }
}  // namespace

GRAPHRUN_PLUGIN(register_ops)
