#pragma once
// The `data` and `evaluation` sections of a graph file, as written.
#include "data/augment.hpp"
#include "data/class_split.hpp"
#include "data/oneshot_runs.hpp"
#include "data/views.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace graphrun {

struct Ctx;
}  // namespace graphrun
namespace YAML {
class Node;
}  // namespace YAML
namespace graphrun {

struct SplitSpec {
  std::string split = "train";  // idx: the data set's own split, train or test
  int64_t begin = 0, end = -1;  // idx: index range; end -1 = to the end
  double from = 0, to = 1;      // idx: fraction of the range, applied after it
  data::ClassSelection classes; // images: which classes, and which images of each
  std::string pair_file;        // pair_file: this split's pair list
  double holdout = 0;           // validation: this fraction of the training examples, taken out of training
  bool present = false;
  std::string where;
};

struct DataSpec {
  std::string format = "idx";        // idx | images | pair_file
  std::vector<std::string> paths;    // one or several roots (images), a folder (idx), the image root (pair_file)
  std::string path() const { return paths.empty() ? std::string() : paths.front(); }
  // images and pair_file: the graph's image size; 0 = from the first image input's [C, H, W].
  int64_t rows = 0, cols = 0, channels = 0;
  bool invert = false;
  std::string strategy = "none";     // pair strategy, or class_balanced
  double same_weight = 0.9, other_weight = 0.1;
  float same_label = 1;
  int64_t batch_classes = 0, images_per_class = 0;  // class_balanced
  data::AugmentSpec augment;         // training images only
  std::vector<int> rotations;        // training classes, once per angle (empty: as they are)
  SplitSpec train, validation, test;
  bool present = false;
  std::string where;
};

struct EvaluationSpec {
  // How the output reads: "similarity" (higher = same) or "distance"; empty: similarity
  // when data.pairs.same_label is 1, distance when it is 0 (the output predicts label 1).
  std::string score;
  bool higher_is_same(float same_label) const { return score.empty() ? same_label == 1 : score == "similarity"; }
  std::string embedding;           // a node whose output is an embedding: one-shot and verification by distance
  std::string distance = "euclidean";  // euclidean | sqeuclidean | cosine
  std::string verify = "pairs";    // pairs: the split's pairs | all: every pair of the split's images
  std::string oneshot_runs;        // the official Omniglot runs, scored with the test figures
  // Also after every epoch, as the history's test_oneshot_runs: a learning curve on the test
  // runs, which no callback may monitor (choosing by it would tune on the test set).
  bool oneshot_runs_each_epoch = false;
  data::TaskSpec tasks;            // N-way K-shot tasks drawn from the validation and test splits
  data::ViewSpec views;            // test-time views: an embedding joins those of every view
  bool has_tasks = false;
  bool present = false;
  std::string where;
};

DataSpec parse_data(const Ctx& c, const YAML::Node& n);
EvaluationSpec parse_evaluation(const Ctx& c, const YAML::Node& n);

}  // namespace graphrun
