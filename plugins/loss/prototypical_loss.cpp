// prototypical_loss (Snell, Swersky and Zemel 2017, "Prototypical Networks for Few-shot
// Learning") over one class-balanced batch. Inputs: the embeddings x_i [D] and the class id
// y_i [1] of each sample (a float holding a non-negative integer); output: a scalar.
// Conventions:
// - The samples are grouped by class id. Within each class, the first `shots` samples in
//   batch order are its support set S_c, the rest its queries; the classes may come in any
//   order and be interleaved. Every class of the batch needs more than `shots` samples
//   (shots supports and at least one query), else the batch is an Error: a batch of
//   P >= 2 classes x K > shots images each, in any order as long as the support samples
//   of a class come before its queries. A batch of one class has nothing to tell apart:
//   its loss is 0, with no gradient (the executor's warm-up pass feeds such a batch:
//   zero-filled inputs, all class ids 0).
// - prototype p_c = (1 / shots) sum_{s in S_c} x_s, for every class c of the batch.
// - For each query q: logits_c = -scale d(x_q, p_c) over all classes of the batch, and
//     loss = (1 / Q) sum_q [ logsumexp_c(logits_c) - logits_{y_q} ]
//   (cross-entropy of softmax(logits) against the own class, the max subtracted first),
//   averaged over the Q queries of the batch.
// - d: sqeuclidean |a - b|^2 (the paper's choice, default), euclidean sqrt(max(|a - b|^2,
//   1e-12)) (clamped so that the gradient stays finite), or cosine 1 - a.b / (|a| |b|)
//   (logits scale cos(a, b) up to a constant, which softmax ignores; use scale ~10).
// - The gradient reaches queries and supports (through the prototypes); class ids get none.
// Distances come from the Gram matrix G = X X^T (see metric_util.hpp):
//   x_q.p_c = mean_{s in S_c} G_qs, |p_c|^2 = mean_{s, t in S_c} G_st.
#include "metric_util.hpp"

#include <graphrun/registry.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace graphrun::loss {
namespace {

using metric::Partials;

class PrototypicalLoss : public metric::MetricLossNode {
 public:
  explicit PrototypicalLoss(const Attributes& a)
      : MetricLossNode("prototypical_loss"),
        shots_(a.integer("shots", 1)),
        scale_(a.number("scale", 1.0)),
        distance_(metric::read_distance(a, "sqeuclidean")) {
    if (shots_ < 1) a.fail("shots", "must be an integer >= 1 (support samples per class), got " + std::to_string(shots_));
    if (!(scale_ > 0) || !std::isfinite(scale_))
      a.fail("scale", "must be a positive number, got " + std::to_string(scale_));
  }

  Shape infer(const std::vector<Shape>& in) override {
    metric::require_embeddings_and_classes(op_, in);
    return {};
  }

  void forward(ExecContext& ctx) override {
    metric::read_class_ids(op_, in(1).data(), batch_, ids_);
    single_class_ = metric::single_class(ids_);
    if (single_class_) {
      out().data()[0] = 0.f;
      return;
    }
    group_classes();
    gram_forward(ctx);
    const int64_t classes = int64_t(class_id_.size()), k = shots_;
    const double inv_k = 1.0 / double(k);
    // |p_c|^2 = mean over the support pairs of G.
    proto_sq_.assign(size_t(classes), 0.0);
    for (int64_t c = 0; c < classes; ++c) {
      double s = 0;
      for (int64_t i = 0; i < k; ++i)
        for (int64_t j = 0; j < k; ++j) s += gram(support(c, i), support(c, j));
      proto_sq_[size_t(c)] = s * inv_k * inv_k;
    }
    const int64_t q_count = int64_t(query_.size());
    prob_.resize(size_t(q_count * classes));
    part_.resize(size_t(q_count * classes));
    logits_.resize(size_t(classes));
    double sum = 0;
    for (int64_t r = 0; r < q_count; ++r) {
      const int64_t q = query_[size_t(r)];
      double top = -std::numeric_limits<double>::infinity();
      for (int64_t c = 0; c < classes; ++c) {
        double ab = 0;
        for (int64_t i = 0; i < k; ++i) ab += gram(q, support(c, i));
        const double d = metric::distance(distance_, gram(q, q), proto_sq_[size_t(c)], ab * inv_k,
                                          part_[size_t(r * classes + c)]);
        logits_[size_t(c)] = -scale_ * d;
        top = std::max(top, logits_[size_t(c)]);
      }
      double z = 0;
      for (int64_t c = 0; c < classes; ++c) z += std::exp(logits_[size_t(c)] - top);
      for (int64_t c = 0; c < classes; ++c) prob_[size_t(r * classes + c)] = std::exp(logits_[size_t(c)] - top) / z;
      sum += top + std::log(z) - logits_[size_t(query_class_[size_t(r)])];
    }
    out().data()[0] = static_cast<float>(sum / double(q_count));
  }

  // Uses the grouping, probabilities and distance partials of the preceding forward.
  void backward(ExecContext& ctx) override {
    if (!b_.output_grad) return;
    zero_class_grad();
    if (single_class_) return zero_embedding_grad();
    if (!wants_embedding_grad()) return;
    clear_h();
    const int64_t classes = int64_t(class_id_.size()), k = shots_, q_count = int64_t(query_.size());
    const double inv_k = 1.0 / double(k), g0 = double(loss_grad()) / double(q_count);
    proto_grad_.assign(size_t(classes), 0.0);  // dL/d|p_c|^2
    for (int64_t r = 0; r < q_count; ++r) {
      const int64_t q = query_[size_t(r)], own = query_class_[size_t(r)];
      for (int64_t c = 0; c < classes; ++c) {
        // dL/dlogit = p - onehot; dlogit/dd = -scale.
        const double g = -scale_ * (prob_[size_t(r * classes + c)] - (c == own ? 1.0 : 0.0)) * g0;
        const Partials& p = part_[size_t(r * classes + c)];
        h(q, q) += g * p.aa;
        for (int64_t i = 0; i < k; ++i) h(q, support(c, i)) += g * p.ab * inv_k;
        proto_grad_[size_t(c)] += g * p.bb;
      }
    }
    for (int64_t c = 0; c < classes; ++c) {
      const double g = proto_grad_[size_t(c)] * inv_k * inv_k;
      for (int64_t i = 0; i < k; ++i)
        for (int64_t j = 0; j < k; ++j) h(support(c, i), support(c, j)) += g;
    }
    gram_backward(ctx);
  }

 private:
  // Sorts the batch by (class id, position): each class is then one run of order_ whose
  // first `shots` entries are its supports and the rest its queries.
  void group_classes() {
    order_.resize(size_t(batch_));
    std::iota(order_.begin(), order_.end(), int64_t(0));
    std::sort(order_.begin(), order_.end(), [&](int64_t a, int64_t b) {
      return ids_[size_t(a)] != ids_[size_t(b)] ? ids_[size_t(a)] < ids_[size_t(b)] : a < b;
    });
    class_start_.clear();
    class_id_.clear();
    for (int64_t i = 0; i < batch_; ++i)
      if (i == 0 || ids_[size_t(order_[size_t(i)])] != ids_[size_t(order_[size_t(i - 1)])]) {
        class_start_.push_back(i);
        class_id_.push_back(ids_[size_t(order_[size_t(i)])]);
      }
    class_start_.push_back(batch_);
    const std::string needs = ". A class-balanced batch for prototypical_loss holds P >= 2 classes x K > shots samples "
                              "each, in any order, the first shots samples of each class in batch order being its "
                              "support set and the rest its queries";
    query_.clear();
    query_class_.clear();
    for (size_t c = 0; c < class_id_.size(); ++c) {
      const int64_t count = class_start_[c + 1] - class_start_[c];
      if (count <= shots_)
        throw Error(op_ + ": class " + std::to_string(class_id_[c]) + " has " + std::to_string(count) +
                    (count == 1 ? " sample" : " samples") + " in the batch, but shots = " + std::to_string(shots_) +
                    " supports and at least one query need " + std::to_string(shots_ + 1) + needs);
      for (int64_t i = class_start_[c] + shots_; i < class_start_[c + 1]; ++i) {
        query_.push_back(order_[size_t(i)]);
        query_class_.push_back(int64_t(c));
      }
    }
  }

  // The i-th support sample of class c.
  int64_t support(int64_t c, int64_t i) const { return order_[size_t(class_start_[size_t(c)] + i)]; }

  int64_t shots_;
  double scale_;
  metric::Distance distance_;
  bool single_class_ = false;  // the last forward saw one class only: loss 0
  // Per step, kept for backward (capacity reused: nothing is allocated after the first step).
  std::vector<int64_t> ids_, order_, class_start_, class_id_, query_, query_class_;
  std::vector<double> proto_sq_, proto_grad_, logits_, prob_;
  std::vector<Partials> part_;
};

}  // namespace

OpInfo prototypical_loss_op() {
  OpInfo op;
  op.name = "prototypical_loss";
  op.description =
      "Prototypical-network loss on a class-balanced batch (P >= 2 classes x K > shots samples): inputs embeddings "
      "[D] and class id [1]; per class, its first `shots` samples in batch order are the support set whose mean is "
      "the prototype, the rest are queries; loss = mean over queries of cross-entropy(softmax(-scale d(query, "
      "prototype_c))) against the own class";
  op.min_inputs = op.max_inputs = 2;
  op.is_loss = true;
  op.batch_mixing = BatchMixing::always;
  op.attrs = {{"shots", "1", "support samples per class (the first ones in batch order), integer >= 1"},
              {"distance", "sqeuclidean", "sqeuclidean, euclidean or cosine (1 - cosine similarity)"},
              {"scale", "1.0", "logits = -scale * distance, > 0"}};
  op.make = [](const Attributes& a) { return std::make_unique<PrototypicalLoss>(a); };
  return op;
}

}  // namespace graphrun::loss
