#pragma once
// Fusion declared by ops. A node says what it computes in terms the plan can match
// (Node::fusion): a pointwise function, a per-channel affine map, a pooling window. The
// plan matches each producer's chain of sole readers against a small table of patterns
// and offers the match to the producer (PlanContext::epilogue); a producer that computes
// the first k stages in its own forward (at its store, say) absorbs them, and the plan
// then skips those nodes. No op knows another op's type.
#include <graphrun/activation.hpp>

#include <cstdint>
#include <functional>
#include <vector>

namespace graphrun {

// A pooling window over [channels, height, width], in the pooled node's terms.
struct PoolWindow {
  bool max = false;  // max, else average
  int64_t kernel_h = 0, kernel_w = 0, stride_h = 0, stride_w = 0, pad_top = 0, pad_left = 0;
  int64_t out_h = 0, out_w = 0;
};

struct Fusion {
  enum class Kind {
    none,
    pointwise,       // y = activation(x) element by element, in every mode
    channel_affine,  // at inference: y = activation(scale[c] * x + shift[c]), channels on
                     // axis 1, scale and shift from Node::channel_affine
    pooling          // pooling over [C, H, W] with `window`, at inference
  };
  Kind kind = Kind::none;
  Activation activation = Activation::linear;
  PoolWindow window{};
};

// One node of the chain offered to its producer.
struct EpilogueStage {
  Fusion what;
  // channel_affine only: fills scale and shift (one per channel) from the node's current
  // parameters. A producer that absorbed the stage calls it every forward.
  std::function<void(std::vector<float>& scale, std::vector<float>& shift)> affine;
};

}  // namespace graphrun
