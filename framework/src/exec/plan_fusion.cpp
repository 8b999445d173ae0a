// Plan: which readers of a node it computes in its own forward (PlanContext::epilogue,
// by the patterns of fusion_patterns.cpp), and which part of its output its readers read
// (PlanContext::output_extent). Ops declare what they compute (Node::fusion); nothing
// here knows an op by name.
#include "exec/fusion_patterns.hpp"
#include "exec/plan_steps.hpp"

#include <algorithm>

namespace graphrun {

using Kind = Fusion::Kind;

namespace {

// Read from outside the graph's nodes, so never folded away or left partly computed: the
// graph's output and the embedding the evaluation section names.
bool observed(const Model& m, int id) {
  if (id == m.output()) return true;
  const std::string& embedding = m.spec().evaluation.embedding;
  return !embedding.empty() && m.find(embedding) == id;
}

}  // namespace

// A chain of nodes after `id`, each the only reader of the one before, one input each, none
// but the last observed from outside (the graph's output, the evaluation's embedding). At inference (this node frozen, no backward through it
// or the chain) every pattern applies; an affine map must be frozen too (batch_norm is one
// only at inference).
std::vector<EpilogueStage> Plan::epilogue_offer(int id, std::vector<int>& chain) const {
  chain.clear();
  const Step& s = *steps_[id];
  if (!s.node || s.folded_into >= 0) return {};
  const bool inference = !s.def->trainable && !s.run_backward;
  std::vector<Kind> kinds;
  std::vector<EpilogueStage> offer;
  for (int cur = id; readers_[cur].size() == 1 && !observed(model_, cur);) {
    const int reader = readers_[cur][0].first;
    const Step& r = *steps_[reader];
    if (r.def->inputs.size() != 1 || !r.node || r.run_backward != s.run_backward) break;
    const Fusion f = r.node->fusion();
    if (f.kind == Kind::none || (f.kind == Kind::channel_affine && r.def->trainable)) break;
    EpilogueStage stage{f, nullptr};
    if (f.kind == Kind::channel_affine) {
      const Node* node = r.node.get();
      stage.affine = [node](std::vector<float>& scale, std::vector<float>& shift) { node->channel_affine(scale, shift); };
    }
    chain.push_back(reader);
    kinds.push_back(f.kind);
    offer.push_back(std::move(stage));
    cur = reader;
  }
  const size_t n = fusable_prefix(kinds, inference);
  chain.resize(n);
  offer.resize(n);
  return offer;
}

// The leading part of a node's output that its readers read (PlanContext::output_extent):
// the widest of their Node::input_extent, passed through the per-channel affine maps and
// pointwise nodes that read it (they read what is read of them). Empty when all of it is
// read, when the node runs backward, or when anything outside the graph's nodes reads it
// (the graph's output, the evaluation's embedding).
Shape Plan::read_extent(int id) const {
  const Step& s = *steps_[id];
  if (!s.node || s.run_backward || observed(model_, id) || readers_[id].empty()) return {};
  const Shape shape = output_shape(id);
  Shape extent;
  for (auto [c, j] : readers_[id]) {
    const Step& r = *steps_[c];
    if (!r.node) return {};
    const Kind kind = r.node->fusion().kind;
    const bool passes_through = r.def->inputs.size() == 1 && !r.run_backward &&
                                (kind == Kind::pointwise || (kind == Kind::channel_affine && !r.def->trainable));
    const Shape part = passes_through ? read_extent(c) : r.node->input_extent(j);
    if (part.size() != shape.size()) return {};
    if (extent.empty()) extent = part;
    for (size_t k = 0; k < part.size(); ++k) extent[k] = std::max(extent[k], part[k]);
  }
  for (size_t k = 0; k < extent.size(); ++k)
    if (extent[k] <= 0 || extent[k] > shape[k]) return {};
  return extent == shape ? Shape{} : extent;
}

}  // namespace graphrun
