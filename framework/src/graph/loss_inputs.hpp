#pragma once
// Every loss op reads [prediction, label]. A loss whose first input is the graph's label
// and whose second is not trains at chance without a word: refuse it when the model is built.
#include "graph/model.hpp"

#include <vector>

namespace graphrun {

// Throws Error naming the node and both inputs when `loss` reads a label input (feed label
// or class) first and something else second.
void check_loss_inputs(const std::vector<NodeDef>& nodes, const NodeDef& loss);

}  // namespace graphrun
