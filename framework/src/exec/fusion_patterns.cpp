#include "exec/fusion_patterns.hpp"

#include <algorithm>

namespace graphrun {
namespace {

using Kind = Fusion::Kind;

// Stage kinds in order; a chain is offered as the longest prefix one pattern matches.
// `with_backward`: also where the producer and the chain run backward (the producer then
// computes a pointwise stage's gradient too); the others hold at inference only.
struct Pattern {
  std::vector<Kind> stages;
  bool with_backward;
};

const std::vector<Pattern>& patterns() {
  static const std::vector<Pattern> table{
      {{Kind::pointwise}, true},                                         // conv2d, dense, batch_norm -> activation
      {{Kind::channel_affine, Kind::pointwise, Kind::pooling}, false},   // conv2d -> batch_norm -> relu -> pool
      {{Kind::channel_affine, Kind::pooling}, false},
      {{Kind::pointwise, Kind::pooling}, false},
      {{Kind::pooling}, false},
  };
  return table;
}

}  // namespace

size_t fusable_prefix(const std::vector<Fusion::Kind>& chain, bool inference) {
  size_t best = 0;
  for (const Pattern& p : patterns()) {
    if (!inference && !p.with_backward) continue;
    size_t n = 0;
    while (n < chain.size() && n < p.stages.size() && chain[n] == p.stages[n]) ++n;
    best = std::max(best, n);
  }
  return best;
}

}  // namespace graphrun
