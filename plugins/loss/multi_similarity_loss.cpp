// multi_similarity_loss with its pair mining (Wang, Han, Huang, Dong and Scott 2019, "Multi-
// Similarity Loss with General Pair Weighting for Deep Metric Learning"; as pytorch-metric-
// learning's MultiSimilarityMiner + MultiSimilarityLoss) over one class-balanced batch.
// Inputs: the embeddings x_i [D] and the class id y_i [1] of each sample (a float holding a
// non-negative integer); output: a scalar. Conventions:
// - S_ij = 1 - d_cos(x_i, x_j) = x_i.x_j / (|x_i| |x_j|), the cosine similarity (norms read
//   as max(|.|, 1e-12), see metric_util.hpp).
// - Every sample i is an anchor, with positives P_i = {j != i of its class} and negatives
//   N_i = {j of another class}. Anchors lacking either (the only sample of their class, or
//   a batch of one class) are left out; the A anchors that have both count.
// - Mining (epsilon >= 0): a negative j is kept if S_ij + epsilon > min_{k in P_i} S_ik, a
//   positive j if S_ij - epsilon < max_{k in N_i} S_ik (strict comparisons).
// - With the kept sets P'_i and N'_i, alpha, beta > 0 and base (lambda):
//     loss_i = (1 / alpha) log(1 + sum_{j in P'_i} exp(-alpha (S_ij - base)))
//            + (1 / beta)  log(1 + sum_{j in N'_i} exp( beta (S_ij - base)))
//     loss   = (1 / A) sum_i loss_i
//   A side with no kept pair contributes log(1) = 0; an anchor with none still counts in A.
//   Each log(1 + sum exp(z_j)) is a log-sum-exp over {0, z_j} with its max factored out.
//   (pytorch-metric-learning's mean runs over all N samples: the same on class-balanced
//   batches, where A = N.)
// - A batch of one class has no negatives: its loss is 0, with no gradient (the executor's
//   warm-up pass feeds such a batch). A batch of 2 or more classes where no class has 2
//   samples (A = 0) is an Error.
// - The gradient flows through the kept pairs only, the mining held fixed: dloss_i/dS_ij is
//   minus the softmax weight of j on the positive side and plus it on the negative side,
//   and dL/dd = -dL/dS. Class ids get none. Any order of the batch gives the same loss.
// Similarities come from the Gram matrix G = X X^T (see metric_util.hpp).
#include "metric_util.hpp"

#include <graphrun/registry.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace graphrun::loss {
namespace {

using metric::Distance;
using metric::Partials;

class MultiSimilarityLoss : public metric::MetricLossNode {
 public:
  explicit MultiSimilarityLoss(const Attributes& a)
      : MetricLossNode("multi_similarity_loss"),
        alpha_(a.number("alpha", 2)),
        beta_(a.number("beta", 50)),
        base_(a.number("base", 0.5)),
        epsilon_(a.number("epsilon", 0.1)) {
    if (!(alpha_ > 0) || !std::isfinite(alpha_))
      a.fail("alpha", "must be a positive number (the positive pairs' scale), got " + std::to_string(alpha_));
    if (!(beta_ > 0) || !std::isfinite(beta_))
      a.fail("beta", "must be a positive number (the negative pairs' scale), got " + std::to_string(beta_));
    if (!std::isfinite(base_))
      a.fail("base", "must be a finite number (the similarity offset lambda), got " + std::to_string(base_));
    if (!(epsilon_ >= 0) || !std::isfinite(epsilon_))
      a.fail("epsilon", "must be a number >= 0 (the mining margin), got " + std::to_string(epsilon_));
  }

  Shape infer(const std::vector<Shape>& in) override {
    metric::require_embeddings_and_classes(op_, in);
    return {};
  }

  void forward(ExecContext& ctx) override {
    metric::read_class_ids(op_, in(1).data(), batch_, ids_);
    anchors_ = 0;
    pairs_.clear();
    if (metric::single_class(ids_)) {
      out().data()[0] = 0.f;
      return;
    }
    gram_forward(ctx);
    gram_distances(Distance::cosine, sim_);
    for (double& d : sim_) d = 1.0 - d;  // the diagonal, unread, becomes 1
    const int64_t n = batch_;
    double sum = 0;
    for (int64_t a = 0; a < n; ++a) {
      double min_pos = std::numeric_limits<double>::infinity(), max_neg = -min_pos;
      for (int64_t j = 0; j < n; ++j) {
        if (j == a) continue;
        const double s = sim_[size_t(a * n + j)];
        if (ids_[size_t(j)] == ids_[size_t(a)]) min_pos = std::min(min_pos, s);
        else max_neg = std::max(max_neg, s);
      }
      if (std::isinf(min_pos) || std::isinf(max_neg)) continue;
      ++anchors_;
      sum += side(a, true, max_neg) / alpha_ + side(a, false, min_pos) / beta_;
    }
    if (anchors_ == 0) no_anchor();
    out().data()[0] = static_cast<float>(sum / double(anchors_));
  }

  // Uses the mining and pair weights of the preceding forward.
  void backward(ExecContext& ctx) override {
    if (!b_.output_grad) return;
    zero_class_grad();
    if (anchors_ == 0) return zero_embedding_grad();  // a batch of one class
    if (!wants_embedding_grad()) return;
    clear_h();
    const double g0 = double(loss_grad()) / double(anchors_);
    for (const Pair& p : pairs_) add_pair(p.a, p.b, -g0 * p.w, p.p);  // dd = -dS
    gram_backward(ctx);
  }

 private:
  struct Pair {
    int64_t a, b;
    Partials p;  // of d_cos(a, b)
    double w;    // dloss_a / dS_ab
  };

  // log(1 + sum_j exp(z_j)) over the kept pairs of anchor a on one side (positives: z =
  // -alpha (S - base), kept if S - epsilon < max_neg; negatives: z = beta (S - base), kept
  // if S + epsilon > min_pos); records each kept pair with its weight dloss_a/dS_aj.
  // Returns 0 with no pair kept.
  double side(int64_t a, bool positive, double threshold) {
    const int64_t n = batch_;
    const double scale = positive ? -alpha_ : beta_;
    const size_t first = pairs_.size();
    z_.clear();
    double top = 0;  // the max over {0, z_j}: exp(0) stands for the 1
    for (int64_t j = 0; j < n; ++j) {
      if (j == a || (ids_[size_t(j)] == ids_[size_t(a)]) != positive) continue;
      const double s = sim_[size_t(a * n + j)];
      if (positive ? !(s - epsilon_ < threshold) : !(s + epsilon_ > threshold)) continue;
      Pair p{a, j, {}, 0};
      metric::distance(Distance::cosine, gram(a, a), gram(j, j), gram(a, j), p.p);
      pairs_.push_back(p);
      z_.push_back(scale * (s - base_));
      top = std::max(top, z_.back());
    }
    if (z_.empty()) return 0;
    double total = std::exp(-top);
    for (double& z : z_) total += z = std::exp(z - top);
    // d/dS_j of (1 / |scale|) log(1 + sum exp(z)) = sign(scale) softmax_j.
    for (size_t k = 0; k < z_.size(); ++k) pairs_[first + k].w = (positive ? -1.0 : 1.0) * z_[k] / total;
    return top + std::log(total);
  }

  double alpha_, beta_, base_, epsilon_;
  // Per step, kept for backward (capacity reused: nothing is allocated after the first step).
  std::vector<int64_t> ids_;
  std::vector<double> sim_, z_;
  std::vector<Pair> pairs_;
  int64_t anchors_ = 0;
};

}  // namespace

OpInfo multi_similarity_loss_op() {
  OpInfo op;
  op.name = "multi_similarity_loss";
  op.description =
      "Multi-similarity loss with its pair mining on a class-balanced batch (P >= 2 classes x K >= 2 samples, any "
      "order): inputs embeddings [D] and class id [1]; S = cosine similarity; per anchor, negatives kept where "
      "S + epsilon > its least similar positive, positives where S - epsilon < its most similar negative; loss = "
      "mean over anchors having both of (1/alpha) log(1 + sum_pos exp(-alpha (S - base))) + (1/beta) log(1 + "
      "sum_neg exp(beta (S - base)))";
  op.min_inputs = op.max_inputs = 2;
  op.is_loss = true;
  op.batch_mixing = BatchMixing::always;
  op.attrs = {{"alpha", "2", "scale of the positive pairs, > 0"},
              {"beta", "50", "scale of the negative pairs, > 0"},
              {"base", "0.5", "similarity offset lambda"},
              {"epsilon", "0.1", "mining margin, >= 0"}};
  op.make = [](const Attributes& a) { return std::make_unique<MultiSimilarityLoss>(a); };
  return op;
}

}  // namespace graphrun::loss
