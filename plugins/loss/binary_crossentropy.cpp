// binary_crossentropy: Keras semantics. The prediction p (a probability, e.g. a sigmoid
// output) is clipped to [eps, 1 - eps] and loss = -mean(y log p + (1 - y) log(1 - p))
// over every prediction value of the batch. Where the clip is active the gradient is 0.
// The label's gradient, when asked for, is -(log q - log(1 - q)) / n for the clipped q.
#include "loss_util.hpp"

#include <graphrun/registry.hpp>

#include <algorithm>
#include <cmath>

namespace graphrun::loss {
namespace {

class BinaryCrossentropy : public LossNode {
 public:
  explicit BinaryCrossentropy(const Attributes& a) : eps_(a.number("eps", 1e-7)) {
    if (!(eps_ > 0 && eps_ < 0.5)) a.fail("eps", "must be in (0, 0.5), got " + std::to_string(eps_));
  }

  Shape infer(const std::vector<Shape>& in) override {
    require_matching_label("binary_crossentropy", in);
    return {};
  }

  void forward(ExecContext&) override {
    const float* p = in(0).data();
    const float* y = in(1).data();
    const int64_t n = batch_ * per_sample_;
    double sum = 0;
    for (int64_t k = 0; k < n; ++k) {
      const double q = std::clamp<double>(p[k], eps_, 1 - eps_);
      sum += y[k] * std::log(q) + (1 - y[k]) * std::log(1 - q);
    }
    out().data()[0] = static_cast<float>(-sum / n);
  }

  void backward(ExecContext&) override {
    float *dp = prediction_grad(), *dy = label_grad();
    if (!dp && !dy) return;
    const float* p = in(0).data();
    const float* y = in(1).data();
    const int64_t n = batch_ * per_sample_;
    const double scale = double(loss_grad()) / n;
    for (int64_t k = 0; k < n; ++k) {
      const double q = p[k];
      const bool clipped = q < eps_ || q > 1 - eps_;
      if (dp) dp[k] = clipped ? 0.f : static_cast<float>(scale * ((1 - y[k]) / (1 - q) - y[k] / q));
      if (dy) {
        const double c = std::clamp(q, eps_, 1 - eps_);
        dy[k] = static_cast<float>(-scale * (std::log(c) - std::log(1 - c)));
      }
    }
  }

 private:
  double eps_;
};

}  // namespace

OpInfo binary_crossentropy_op() {
  OpInfo op;
  op.name = "binary_crossentropy";
  op.description = "Loss -mean(y log p + (1 - y) log(1 - p)) with p clipped to [eps, 1 - eps] (Keras); "
                   "inputs: prediction p in (0, 1), label y, equal shapes (usually [1])";
  op.min_inputs = op.max_inputs = 2;
  op.is_loss = true;
  op.attrs = {{"eps", "1e-7", "clip of the prediction (Keras epsilon); no gradient where it clips"}};
  op.make = [](const Attributes& a) { return std::make_unique<BinaryCrossentropy>(a); };
  return op;
}

}  // namespace graphrun::loss
