#include "graph/infer_checks.hpp"

#include <graphrun/error.hpp>

#include <algorithm>

namespace graphrun {

void check_inferred(const OpInfo& info, const std::vector<Shape>& inputs, const Shape& output,
                    const std::vector<ParamSpec>& params) {
  for (int64_t d : output)
    if (d < 1 && d != kBatchDim)
      throw Error("its plugin inferred the output shape " + to_string(output) + ", whose dims must be positive");
  const bool from_inputs = std::any_of(inputs.begin(), inputs.end(), [](const Shape& s) { return has_batch_dim(s); });
  if (has_batch_dim(output) && !from_inputs && !info.batch_dependent_shape)
    throw Error("its plugin inferred the output shape " + to_string(output) +
                " (N: the batch size) but op '" + info.name + "' does not declare OpInfo::batch_dependent_shape");
  for (const ParamSpec& p : params) {
    if (has_batch_dim(p.dims))
      throw Error("parameter '" + p.name + "' would have shape " + to_string(p.dims) +
                  ", which grows with the batch (N): an input whose shape depends on the batch cannot feed a node "
                  "with parameters");
    for (int64_t d : p.dims)
      if (d < 1) throw Error("its plugin asked for parameter '" + p.name + "' of shape " + to_string(p.dims) +
                             ", whose dims must be positive");
  }
}

}  // namespace graphrun
