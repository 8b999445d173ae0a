// contrastive_loss (Hadsell, Chopra and LeCun 2006), margin m, prediction p, label y.
// `same_label` says which label value marks a same pair (s = 1 for those pairs) and
// `prediction` says how p reads:
//   distance   (default): same pairs pulled to p = 0, the others pushed to p >= m:
//                         loss = mean( s p^2 + (1 - s) max(m - p, 0)^2 )
//   similarity:           same pairs pushed to p >= m, the others pulled to 0:
//                         loss = mean( (1 - s) p^2 + s max(m - p, 0)^2 )
// Both reference systems write mean((1 - y) p^2 + y max(m - p, 0)^2):
// - R4 (Euclidean distance -> sigmoid, label 1 = DIFFERENT): same_label 0, distance;
// - R3 (sigmoid read as "same" when p > 0.5, label 1 = SAME): same_label 1, similarity.
// s is linear in y (s = y or 1 - y), so soft labels work too.
#include "loss_util.hpp"

#include <graphrun/registry.hpp>

#include <algorithm>
#include <cmath>

namespace graphrun::loss {
namespace {

class ContrastiveLoss : public LossNode {
 public:
  explicit ContrastiveLoss(const Attributes& a)
      : margin_(a.number("margin", 1.0)),
        same_label_(a.integer("same_label", 1)),
        similarity_(a.choice("prediction", "distance", {"distance", "similarity"}) == "similarity") {
    if (!(margin_ > 0) || !std::isfinite(margin_))
      a.fail("margin", "must be a positive number, got " + std::to_string(margin_));
    if (same_label_ != 0 && same_label_ != 1)
      a.fail("same_label", "must be 0 or 1 (the label value of a same pair), got " + std::to_string(same_label_));
  }

  Shape infer(const std::vector<Shape>& in) override {
    require_matching_label("contrastive_loss", in);
    return {};
  }

  void forward(ExecContext&) override {
    const float* p = in(0).data();
    const float* y = in(1).data();
    const int64_t n = batch_ * per_sample_;
    double sum = 0;
    for (int64_t k = 0; k < n; ++k) {
      const double t = hinge_weight(y[k]), hinge = std::max(margin_ - p[k], 0.0);
      sum += (1 - t) * double(p[k]) * p[k] + t * hinge * hinge;
    }
    out().data()[0] = static_cast<float>(sum / n);
  }

  // The label's gradient, when asked for: the loss is linear in the hinge weight t, and t
  // in the label (slope +-1).
  void backward(ExecContext&) override {
    float *dp = prediction_grad(), *dy = label_grad();
    if (!dp && !dy) return;
    const float* p = in(0).data();
    const float* y = in(1).data();
    const int64_t n = batch_ * per_sample_;
    const double scale = 2.0 * loss_grad() / n;
    const double slope = hinge_weight(1.f) - hinge_weight(0.f);
    for (int64_t k = 0; k < n; ++k) {
      const double t = hinge_weight(y[k]), hinge = std::max(margin_ - p[k], 0.0);
      if (dp) dp[k] = static_cast<float>(scale * ((1 - t) * p[k] - t * hinge));
      if (dy) dy[k] = static_cast<float>(scale / 2 * slope * (hinge * hinge - double(p[k]) * p[k]));
    }
  }

 private:
  // Weight of the hinge term: s for a similarity, 1 - s for a distance.
  double hinge_weight(float y) const {
    const double s = same_label_ == 1 ? y : 1.0 - y;
    return similarity_ ? s : 1.0 - s;
  }

  double margin_;
  int64_t same_label_;
  bool similarity_;
};

}  // namespace

OpInfo contrastive_loss_op() {
  OpInfo op;
  op.name = "contrastive_loss";
  op.description =
      "Contrastive loss, s = 1 for pairs labelled same_label. prediction distance: mean(s p^2 + (1 - s) "
      "max(margin - p, 0)^2) (same pairs pulled to 0); similarity: mean((1 - s) p^2 + s max(margin - p, 0)^2) "
      "(same pairs pushed to the margin)";
  op.min_inputs = op.max_inputs = 2;
  op.is_loss = true;
  op.attrs = {{"margin", "1.0", "value beyond which the hinge term costs nothing, > 0"},
              {"same_label", "1", "0 or 1: the label value of a same pair"},
              {"prediction", "distance", "distance (small = same) or similarity (large = same)"}};
  op.make = [](const Attributes& a) { return std::make_unique<ContrastiveLoss>(a); };
  return op;
}

}  // namespace graphrun::loss
