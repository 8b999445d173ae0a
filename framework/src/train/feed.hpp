#pragma once
// Copying a batch of pairs into a plan's graph inputs.
#include "data/batches.hpp"
#include "exec/plan.hpp"
#include "graph/model.hpp"

namespace graphrun {

// Each graph input takes what its `feed` names: image a (default), image b ("right"), the
// pair label ("label") or image a's class ("class"). Image rows are copied on all compute
// threads.
void feed_batch(const Model& model, Plan& plan, const data::Batch& batch);

}  // namespace graphrun
