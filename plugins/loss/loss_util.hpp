#pragma once
// Shared set-up of the loss nodes. Input 0 is the prediction, input 1 the label; both
// are read plain, and the output is one float: the mean over the batch. The arrays are
// batch-sized, so the arithmetic is a plain loop: a chain of oneDNN primitives would
// cost more in dispatch than the work itself. Nothing is allocated per step.
#include <graphrun/error.hpp>
#include <graphrun/node.hpp>

#include <string>
#include <vector>

namespace graphrun::loss {

inline void require_two_inputs(const std::string& op, const std::vector<Shape>& in) {
  if (in.size() != 2)
    throw Error(op + " takes 2 inputs (prediction, label), got " + std::to_string(in.size()));
  if (in[0].empty()) throw Error(op + " needs a prediction with at least one per-sample dim, got []");
}

// For element-wise losses: prediction and label of equal shape (usually [1]).
inline void require_matching_label(const std::string& op, const std::vector<Shape>& in) {
  require_two_inputs(op, in);
  if (in[0] != in[1])
    throw Error(op + " needs a label shaped like the prediction, got prediction " + to_string(in[0]) +
                " and label " + to_string(in[1]));
}

class LossNode : public Node {
 public:
  dnnl::memory::desc plan(PlanContext& ctx) override {
    for (size_t i = 0; i < ctx.inputs.size(); ++i) {
      Shape full{ctx.batch};
      full.insert(full.end(), ctx.input_shapes[i].begin(), ctx.input_shapes[i].end());
      ctx.inputs[i] = plain_desc(full);
    }
    batch_ = ctx.batch;
    per_sample_ = volume(ctx.input_shapes.at(0));
    return plain_desc({1});
  }

 protected:
  // Where backward should write dL/dprediction, or nullptr when nobody wants it.
  float* prediction_grad() const { return b_.output_grad && in_grad(0) ? in_grad(0)->data() : nullptr; }
  // The same for dL/dlabel: a label read from another node may be asked for one, and
  // backward must then write it (Bindings: gradients are overwritten, never left).
  float* label_grad() const {
    return b_.output_grad && b_.input_grads.size() > 1 && in_grad(1) ? in_grad(1)->data() : nullptr;
  }
  // dL/dloss from the executor (1 for the loss a graph trains on).
  float loss_grad() const { return out_grad().data()[0]; }

  int64_t batch_ = 0;       // samples per batch
  int64_t per_sample_ = 0;  // prediction values per sample
};

}  // namespace graphrun::loss
