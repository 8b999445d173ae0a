// categorical_crossentropy: Keras semantics on probabilities (a softmax output) [C].
// p is clipped to [eps, 1 - eps]; loss = -mean over the batch of sum_c y_c log p_c, with
// the label either one class index per sample (shape [1]) or a distribution / one-hot
// vector shaped like the prediction (shape [C]); infer decides from the label shape.
// Keras also divides p by its sum first: a no-op on a softmax output, and the gradient
// it would add is constant along the vector, which a softmax's backward cancels.
// No gradient where the clip is active.
#include "loss_util.hpp"

#include <graphrun/registry.hpp>

#include <algorithm>
#include <cmath>

namespace graphrun::loss {
namespace {

class CategoricalCrossentropy : public LossNode {
 public:
  explicit CategoricalCrossentropy(const Attributes& a) : eps_(a.number("eps", 1e-7)) {
    if (!(eps_ > 0 && eps_ < 0.5)) a.fail("eps", "must be in (0, 0.5), got " + std::to_string(eps_));
  }

  Shape infer(const std::vector<Shape>& in) override {
    require_two_inputs("categorical_crossentropy", in);
    if (in[0].size() != 1)
      throw Error("categorical_crossentropy needs a rank-1 prediction of class probabilities, got " +
                  to_string(in[0]));
    if (in[1] == in[0]) {
      index_label_ = false;
    } else if (in[1] == Shape{1}) {
      index_label_ = true;
    } else {
      throw Error("categorical_crossentropy needs a label of shape [1] (class index) or shaped like the prediction " +
                  to_string(in[0]) + " (one-hot), got prediction " + to_string(in[0]) + " and label " +
                  to_string(in[1]));
    }
    return {};
  }

  void forward(ExecContext&) override {
    const float* p = in(0).data();
    const float* y = in(1).data();
    const int64_t classes = per_sample_;
    double sum = 0;
    for (int64_t i = 0; i < batch_; ++i) {
      const float* row = p + i * classes;
      if (index_label_) {
        sum += std::log(clip(row[class_of(y[i], i)]));
      } else {
        for (int64_t c = 0; c < classes; ++c)
          if (y[i * classes + c] != 0) sum += y[i * classes + c] * std::log(clip(row[c]));
      }
    }
    out().data()[0] = static_cast<float>(-sum / batch_);
  }

  // The label's gradient, when asked for: -log p / batch for a one-hot label, 0 for a class
  // index (rounded to a class, it is constant nearby).
  void backward(ExecContext&) override {
    float *dp = prediction_grad(), *dy = label_grad();
    const float* p = in(0).data();
    const float* y = in(1).data();
    const int64_t classes = per_sample_;
    const double scale = -double(loss_grad()) / batch_;
    if (dy) {
      const int64_t count = index_label_ ? batch_ : batch_ * classes;
      for (int64_t k = 0; k < count; ++k) dy[k] = index_label_ ? 0.f : static_cast<float>(scale * std::log(clip(p[k])));
    }
    if (!dp) return;
    for (int64_t i = 0; i < batch_; ++i) {
      const int64_t hot = index_label_ ? class_of(y[i], i) : -1;
      for (int64_t c = 0; c < classes; ++c) {
        const int64_t k = i * classes + c;
        const double weight = index_label_ ? (c == hot ? 1.0 : 0.0) : y[k];
        const bool clipped = p[k] < eps_ || p[k] > 1 - eps_;
        dp[k] = weight == 0 || clipped ? 0.f : static_cast<float>(scale * weight / p[k]);
      }
    }
  }

 private:
  double clip(float v) const { return std::clamp<double>(v, eps_, 1 - eps_); }

  // The class index a label value names; a value that is not one is a data error.
  int64_t class_of(float v, int64_t sample) const {
    const double r = std::nearbyint(v);
    if (!(std::abs(v - r) < 1e-3) || r < 0 || r >= per_sample_)
      throw Error("categorical_crossentropy: label " + std::to_string(v) + " of sample " + std::to_string(sample) +
                  " is not a class index in [0, " + std::to_string(per_sample_) + ")");
    return static_cast<int64_t>(r);
  }

  double eps_;
  bool index_label_ = true;
};

}  // namespace

OpInfo categorical_crossentropy_op() {
  OpInfo op;
  op.name = "categorical_crossentropy";
  op.description = "Loss -mean(sum_c y_c log p_c) with p clipped to [eps, 1 - eps] (Keras); inputs: class "
                   "probabilities [C] (a softmax output) and a label, either the class index ([1]) or one-hot ([C])";
  op.min_inputs = op.max_inputs = 2;
  op.is_loss = true;
  op.attrs = {{"eps", "1e-7", "clip of the probabilities (Keras epsilon); no gradient where it clips"}};
  op.make = [](const Attributes& a) { return std::make_unique<CategoricalCrossentropy>(a); };
  return op;
}

}  // namespace graphrun::loss
