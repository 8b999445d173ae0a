// triplet_loss with batch-hard mining (Hermans, Beyer and Leibe 2017, "In Defense of the
// Triplet Loss for Person Re-Identification"; as dlib's loss_metric and pytorch-metric-
// learning's BatchHardMiner + TripletMarginLoss) over one class-balanced batch. Inputs:
// the embeddings x_i [D] and the class id y_i [1] of each sample (a float holding a
// non-negative integer); output: a scalar. Conventions:
// - Every sample a is an anchor. Its hardest positive P(a) is the other sample of its class
//   farthest from it, its hardest negative N(a) the sample of another class nearest to it
//   (ties: the first in batch order). Anchors lacking either (the only sample of their
//   class, or a batch of one class) are left out; the A anchors that have both count:
//     hinge (default): loss = (1 / A) sum_a max(d(a, P(a)) - d(a, N(a)) + margin, 0)
//     soft: true:      loss = (1 / A) sum_a log(1 + exp(d(a, P(a)) - d(a, N(a))))
//   (the soft margin has no margin: setting both is refused). A batch of one class has no
//   negatives: its loss is 0, with no gradient (the executor's warm-up pass feeds such a
//   batch). A batch of 2 or more classes where no class has 2 samples (A = 0) is an Error.
// - d: euclidean sqrt(max(|a - b|^2, 1e-12)) (default; clamped so that the gradient stays
//   finite), sqeuclidean |a - b|^2, or cosine 1 - a.b / (|a| |b|).
// - The gradient flows through the selected pairs only, the mining held fixed (the
//   subgradient at the argmax / argmin, as the references take it); a hinge at or below 0
//   gives none. Class ids get none. Any order of the batch gives the same loss.
// Distances come from the Gram matrix G = X X^T (see metric_util.hpp).
#include "metric_util.hpp"

#include <graphrun/registry.hpp>

#include <algorithm>
#include <cmath>

namespace graphrun::loss {
namespace {

using metric::Partials;

class TripletLoss : public metric::MetricLossNode {
 public:
  explicit TripletLoss(const Attributes& a)
      : MetricLossNode("triplet_loss"),
        margin_(a.number("margin", 0.2)),
        distance_(metric::read_distance(a, "euclidean")),
        soft_(a.boolean("soft", false)) {
    if (!(margin_ > 0) || !std::isfinite(margin_))
      a.fail("margin", "must be a positive number, got " + std::to_string(margin_));
    if (soft_ && a.has("margin"))
      a.fail("margin", "has no effect with soft: true (the soft margin log(1 + exp(d_ap - d_an)) has none); remove it");
  }

  Shape infer(const std::vector<Shape>& in) override {
    metric::require_embeddings_and_classes(op_, in);
    return {};
  }

  void forward(ExecContext& ctx) override {
    metric::read_class_ids(op_, in(1).data(), batch_, ids_);
    anchors_.clear();
    if (metric::single_class(ids_)) {
      out().data()[0] = 0.f;
      return;
    }
    gram_forward(ctx);
    gram_distances(distance_, dist_);
    const int64_t n = batch_;
    double sum = 0;
    for (int64_t a = 0; a < n; ++a) {
      int64_t pos = -1, neg = -1;
      for (int64_t j = 0; j < n; ++j) {
        if (j == a) continue;
        const double d = dist_[size_t(a * n + j)];
        if (ids_[size_t(j)] == ids_[size_t(a)]) {
          if (pos < 0 || d > dist_[size_t(a * n + pos)]) pos = j;
        } else if (neg < 0 || d < dist_[size_t(a * n + neg)]) {
          neg = j;
        }
      }
      if (pos < 0 || neg < 0) continue;
      Anchor t{a, pos, neg, {}, {}, 0};
      const double d_ap = metric::distance(distance_, gram(a, a), gram(pos, pos), gram(a, pos), t.pp);
      const double d_an = metric::distance(distance_, gram(a, a), gram(neg, neg), gram(a, neg), t.pn);
      t.x = d_ap - d_an;
      sum += soft_ ? softplus(t.x) : std::max(t.x + margin_, 0.0);
      anchors_.push_back(t);
    }
    if (anchors_.empty()) no_anchor();
    out().data()[0] = static_cast<float>(sum / double(anchors_.size()));
  }

  // Uses the mining of the preceding forward.
  void backward(ExecContext& ctx) override {
    if (!b_.output_grad) return;
    zero_class_grad();
    if (anchors_.empty()) return zero_embedding_grad();  // a batch of one class
    if (!wants_embedding_grad()) return;
    clear_h();
    const double g0 = double(loss_grad()) / double(anchors_.size());
    for (const Anchor& t : anchors_) {
      const double w = g0 * (soft_ ? sigmoid(t.x) : (t.x + margin_ > 0 ? 1.0 : 0.0));
      if (w == 0) continue;
      add_pair(t.a, t.p, w, t.pp);
      add_pair(t.a, t.n, -w, t.pn);
    }
    gram_backward(ctx);
  }

 private:
  struct Anchor {
    int64_t a, p, n;
    Partials pp, pn;  // of d(a, p) and d(a, n)
    double x;         // d(a, p) - d(a, n)
  };

  static double softplus(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x))); }
  static double sigmoid(double x) {
    if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
    const double e = std::exp(x);
    return e / (1.0 + e);
  }

  double margin_;
  metric::Distance distance_;
  bool soft_;
  // Per step, kept for backward (capacity reused: nothing is allocated after the first step).
  std::vector<int64_t> ids_;
  std::vector<double> dist_;
  std::vector<Anchor> anchors_;
};

}  // namespace

OpInfo triplet_loss_op() {
  OpInfo op;
  op.name = "triplet_loss";
  op.description =
      "Batch-hard triplet loss on a class-balanced batch (P >= 2 classes x K >= 2 samples, any order): inputs "
      "embeddings [D] and class id [1]; per anchor, the farthest positive and nearest negative; loss = mean over "
      "anchors having both of max(d_ap - d_an + margin, 0), or log(1 + exp(d_ap - d_an)) with soft: true";
  op.min_inputs = op.max_inputs = 2;
  op.is_loss = true;
  op.batch_mixing = BatchMixing::always;
  op.attrs = {{"margin", "0.2", "hinge margin, > 0 (not with soft: true)"},
              {"distance", "euclidean", "euclidean, sqeuclidean or cosine (1 - cosine similarity)"},
              {"soft", "false", "soft margin log(1 + exp(d_ap - d_an)) in place of the hinge"}};
  op.make = [](const Attributes& a) { return std::make_unique<TripletLoss>(a); };
  return op;
}

}  // namespace graphrun::loss
