#pragma once
// The chains of readers a producer may be offered to compute in its own forward
// (PlanContext::epilogue), shared by the plan and the node harness.
#include <graphrun/fusion.hpp>

#include <cstddef>
#include <vector>

namespace graphrun {

// How many of `chain` (the kinds of the readers after a producer, in order) the best
// pattern takes. `inference`: the producer and the chain run no backward; else only the
// patterns that hold with a backward pass apply.
size_t fusable_prefix(const std::vector<Fusion::Kind>& chain, bool inference);

}  // namespace graphrun
