#pragma once
// What shape inference must give, checked the same way for a graph (Model) and for one
// node alone (NodeHarness): plugins are not trusted to follow the rules of kBatchDim.
#include <graphrun/node.hpp>
#include <graphrun/registry.hpp>

#include <vector>

namespace graphrun {

// Throws graphrun::Error (without the node's name: the caller adds it) when the inferred
// output has a dim that is neither positive nor kBatchDim, holds kBatchDim although the op
// does not declare OpInfo::batch_dependent_shape and no input holds it, or when a
// parameter's shape is not a positive, batch-independent one.
void check_inferred(const OpInfo& info, const std::vector<Shape>& inputs, const Shape& output,
                    const std::vector<ParamSpec>& params);

}  // namespace graphrun
