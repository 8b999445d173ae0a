#pragma once
// Sizes checked before anything is allocated: a graph that needs more memory than the
// machine has is refused with the figure and its largest node, instead of a oneDNN
// "could not create a memory object" (or the kernel's out-of-memory killer).
#include "graph/model.hpp"

#include <cstdint>
#include <vector>

namespace graphrun {

// Bytes of memory this process may use: MemTotal, or a smaller cgroup limit; 0 if unknown.
uint64_t machine_memory_bytes();

// Parameters (values, and gradients of trainable ones) of the nodes' ParamSpecs, shared
// parameters once. Called before Model allocates them.
void check_param_memory(const std::vector<NodeDef>& nodes, const std::string& file);

// Activations of a plan for `batch` (outputs, and output gradients where backward[i]) plus
// the model's parameters. Called before Plan allocates them.
void check_plan_memory(const Model& model, int64_t batch, const std::vector<bool>& backward);

}  // namespace graphrun
