#include "eval/scoring.hpp"

#include "data/batches.hpp"
#include "data/image_tree.hpp"
#include "data/views.hpp"
#include "train/feed.hpp"

#include <graphrun/error.hpp>

#include <algorithm>
#include <cmath>

namespace graphrun::eval {

Scorer::Scorer(const Model& model, PlanFor plan_for, int64_t batch)
    : model_(model), plan_for_(std::move(plan_for)), batch_(std::max<int64_t>(batch, 1)) {
  const EvaluationSpec& e = model.spec().evaluation;
  higher_is_same_ = e.higher_is_same(model.spec().data.same_label);
  distance_ = e.distance;
  views_ = e.views;
  if (!e.embedding.empty()) {
    embedding_ = model.find(e.embedding);
    if (embedding_ < 0) throw Error(e.where + ": evaluation.embedding names '" + e.embedding + "', which is not a node of the graph");
    const Shape& shape = model.nodes()[size_t(embedding_)].shape;
    if (has_batch_dim(shape))
      throw Error(e.where + ": evaluation.embedding names '" + e.embedding + "', whose shape " + to_string(shape) +
                  " grows with the batch (N): an embedding is one vector per example");
  }
}

int64_t Scorer::node_dim() const { return embedding_ >= 0 ? volume(model_.nodes()[size_t(embedding_)].shape) : 0; }
int64_t Scorer::dim() const { return node_dim() * views_.count(); }

std::vector<float> Scorer::pair_scores(const data::ImageSet& set, const std::vector<std::pair<int64_t, int64_t>>& pairs) {
  const int out = model_.output();
  if (volume(model_.nodes()[size_t(out)].shape) != 1)
    throw Error(model_.spec().file + ": the output '" + model_.nodes()[size_t(out)].name +
                "' is not one score per pair: pair scores need a pair graph (or set evaluation.embedding)");
  std::vector<float> scores(pairs.size());
  data::Batch b;
  const int64_t size = set.image_size();
  for (size_t begin = 0; begin < pairs.size(); begin += size_t(batch_)) {
    const int64_t n = std::min<int64_t>(batch_, int64_t(pairs.size() - begin));
    b.size = batch_;  // a short last chunk is padded with its last pair: one plan for every chunk
    b.left.resize(size_t(batch_ * size));
    b.right.resize(size_t(batch_ * size));
    b.label.assign(size_t(batch_), 0.f);
    b.klass.assign(size_t(batch_), 0.f);
    for (int64_t k = 0; k < batch_; ++k) {
      const auto& pair = pairs[begin + size_t(std::min(k, n - 1))];
      set.copy_image(pair.first, b.left.data() + k * size);
      set.copy_image(pair.second, b.right.data() + k * size);
    }
    Plan& p = plan_for_(batch_);
    feed_batch(model_, p, b);
    p.forward(Mode::eval, 0, out);
    std::copy_n(p.output(out), n, scores.begin() + long(begin));
  }
  return scores;
}

std::vector<float> Scorer::embeddings(const data::ImageSet& set, const std::vector<int64_t>& images) {
  if (embedding_ < 0) throw Error(model_.spec().file + ": embeddings need evaluation.embedding (the node whose output is one)");
  if (!views_.enabled()) return embed(set, images);
  // View v of image i is image i * count + v: the embeddings come out joined, row by row.
  const data::ImageSet viewed = data::with_views(data::select_images(set, images, false), views_);
  std::vector<int64_t> all(size_t(viewed.count));
  for (size_t i = 0; i < all.size(); ++i) all[i] = int64_t(i);
  return embed(viewed, all);
}

std::vector<float> Scorer::embed(const data::ImageSet& set, const std::vector<int64_t>& images) {
  const int64_t d = node_dim(), size = set.image_size();
  std::vector<float> out(images.size() * size_t(d));
  data::Batch b;
  for (size_t begin = 0; begin < images.size(); begin += size_t(batch_)) {
    const int64_t n = std::min<int64_t>(batch_, int64_t(images.size() - begin));
    b.size = batch_;  // padded with the last image, as above
    b.left.resize(size_t(batch_ * size));
    for (int64_t k = 0; k < batch_; ++k) set.copy_image(images[begin + size_t(std::min(k, n - 1))], b.left.data() + k * size);
    b.right = b.left;  // a pair graph's tower may read either input
    b.label.assign(size_t(batch_), 0.f);
    b.klass.assign(size_t(batch_), 0.f);
    Plan& p = plan_for_(batch_);
    feed_batch(model_, p, b);
    p.forward(Mode::eval, 0, embedding_);
    std::copy_n(p.output(embedding_), n * d, out.begin() + long(begin * size_t(d)));
  }
  return out;
}

double Scorer::embedding_distance(const float* a, const float* b) const {
  const int64_t d = dim();
  double s = 0, aa = 0, bb = 0, ab = 0;
  for (int64_t k = 0; k < d; ++k) {
    const double x = a[k], y = b[k];
    s += (x - y) * (x - y), aa += x * x, bb += y * y, ab += x * y;
  }
  if (distance_ == "sqeuclidean") return s;
  if (distance_ == "cosine") return 1 - ab / std::sqrt(std::max(aa * bb, 1e-24));
  return std::sqrt(s);
}

}  // namespace graphrun::eval
