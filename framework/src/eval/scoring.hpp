#pragma once
// Running a trained graph over images in evaluation mode, in large batches: the score of
// each (a, b) pair through the whole graph, or the embedding a named node gives each image.
#include "data/idx.hpp"
#include "exec/plan.hpp"
#include "graph/model.hpp"

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace graphrun::eval {

using PlanFor = std::function<Plan&(int64_t batch)>;

class Scorer {
 public:
  // batch: how many pairs or images per forward pass. The evaluation section says how the
  // output reads (similarity or distance) and which node, if any, is an embedding.
  Scorer(const Model& model, PlanFor plan_for, int64_t batch);

  bool higher_is_same() const { return higher_is_same_; }
  bool has_embedding() const { return embedding_ >= 0; }
  const std::string& distance() const { return distance_; }

  // The graph's output for each pair of images of `set` (a into the left input, b into the right).
  std::vector<float> pair_scores(const data::ImageSet& set, const std::vector<std::pair<int64_t, int64_t>>& pairs);
  // The embedding node's output for each listed image, row after row; dim() values each.
  // With evaluation.views, an image's row joins the embeddings of its views, view after view.
  std::vector<float> embeddings(const data::ImageSet& set, const std::vector<int64_t>& images);
  int64_t dim() const;

  // Distance between two embeddings under `distance` (euclidean, sqeuclidean or cosine: 1 - cos).
  double embedding_distance(const float* a, const float* b) const;

 private:
  std::vector<float> embed(const data::ImageSet& set, const std::vector<int64_t>& images);
  int64_t node_dim() const;

  const Model& model_;
  PlanFor plan_for_;
  int64_t batch_;
  bool higher_is_same_ = true;
  int embedding_ = -1;
  std::string distance_;
  data::ViewSpec views_;
};

}  // namespace graphrun::eval
