#include "graph/loss_inputs.hpp"

#include "train/feed.hpp"

#include <graphrun/error.hpp>

namespace graphrun {
namespace {

bool is_label(const NodeDef& n) { return is_label_feed(n.feed); }

}  // namespace

void check_loss_inputs(const std::vector<NodeDef>& nodes, const NodeDef& loss) {
  if (loss.inputs.size() != 2) return;
  const NodeDef& first = nodes[size_t(loss.inputs[0])];
  const NodeDef& second = nodes[size_t(loss.inputs[1])];
  if (is_label(first) && !is_label(second))
    throw Error(loss.where + ": node '" + loss.name + "' (" + loss.op + "): its inputs look swapped: '" + first.name +
                "' is fed the " + first.feed + " and comes first, '" + second.name +
                "' second; a loss reads inputs: [prediction, label], here [" + second.name + ", " + first.name + "]");
}

}  // namespace graphrun
