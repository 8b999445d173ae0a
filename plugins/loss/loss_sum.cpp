// loss_sum: a weighted sum of scalar losses, L = sum_k w_k L_k, so that a graph trains on
// several objectives at once (Keras's loss_weights): two towers with a loss each, trained as
// one model, or a metric loss and a classification loss on one embedding. Inputs: 2 to 8
// loss nodes' outputs (scalars); `factors` one number per input (default: all 1).
// Backward: dL/dL_k = w_k dL/dL.
#include "loss_util.hpp"

#include <graphrun/registry.hpp>

#include <cmath>

namespace graphrun::loss {
namespace {

class LossSum : public Node {
 public:
  explicit LossSum(const Attributes& a) : factors_(a.numbers("factors", {})) {
    for (double v : factors_)
      if (!std::isfinite(v) || v < 0) a.fail("factors", "must be finite and >= 0, got " + std::to_string(v));
  }

  Shape infer(const std::vector<Shape>& in) override {
    for (size_t k = 0; k < in.size(); ++k)
      if (!in[k].empty())
        throw Error("loss_sum adds scalar losses, but input " + std::to_string(k) + " has the per-sample shape " +
                    to_string(in[k]) + " (its inputs are loss nodes)");
    if (factors_.empty()) factors_.assign(in.size(), 1.0);
    if (factors_.size() != in.size())
      throw Error("loss_sum: 'factors' needs one number per input: " + std::to_string(in.size()) + " inputs, " +
                  std::to_string(factors_.size()) + " factors");
    return {};
  }

  dnnl::memory::desc plan(PlanContext& ctx) override {
    for (auto& d : ctx.inputs) d = plain_desc({1});
    return plain_desc({1});
  }

  void forward(ExecContext&) override {
    double sum = 0;
    for (size_t k = 0; k < factors_.size(); ++k) sum += factors_[k] * double(in(k).data()[0]);
    out().data()[0] = static_cast<float>(sum);
  }

  void backward(ExecContext&) override {
    if (!b_.output_grad) return;
    const double g = out_grad().data()[0];
    for (size_t k = 0; k < factors_.size(); ++k)
      if (in_grad(k)) in_grad(k)->data()[0] = static_cast<float>(factors_[k] * g);
  }

 private:
  std::vector<double> factors_;  // empty until infer: then 1 per input unless given
};

}  // namespace

OpInfo loss_sum_op() {
  OpInfo op;
  op.name = "loss_sum";
  op.description = "Weighted sum of 2 to 8 scalar losses (loss nodes' outputs): sum_k factors[k] * input k";
  op.min_inputs = 2;
  op.max_inputs = 8;
  op.is_loss = true;
  op.batch_mixing = BatchMixing::always;
  op.attrs = {{"factors", "1 per input", "one number >= 0 per input"}};
  op.make = [](const Attributes& a) { return std::make_unique<LossSum>(a); };
  return op;
}

}  // namespace graphrun::loss
