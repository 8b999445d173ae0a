#pragma once
// The graph file as written: a plain description, before any op is resolved.
#include <graphrun/attributes.hpp>
#include <graphrun/tensor.hpp>

#include <map>
#include <string>
#include <vector>

namespace graphrun {

struct InputSpec {
  std::string name;
  Shape shape;
  std::string feed;  // which batch field fills it: left, right, image, label, class
  std::string where;
};

struct LayerSpec {  // one node of a tower, or one node of the graph
  std::string name;
  std::string op;
  std::string tower;                // set when this node is a use of a tower
  std::vector<std::string> inputs;  // node or input names
  Attributes attrs;
  bool trainable = true;
  std::string weights_file;         // parameters loaded from a checkpoint
  std::string weights_prefix;       // ...taking the tensors under this prefix
  std::string where;                // "file:line:col"
};

struct TowerSpec {
  std::string name;
  std::vector<LayerSpec> layers;
  bool trainable = true;
  // Run all uses as one batch (when the graph allows it, see Model::expand); false keeps
  // one chain of nodes per use, for comparisons.
  bool batch_uses = true;
  std::string weights_file, weights_prefix;
  std::string where;
};

struct SplitSpec {
  std::string split = "train";  // the data set's own split: train or test
  int64_t begin = 0, end = -1;  // index range; end -1 = to the end
  double from = 0, to = 1;      // fraction of the range, applied after it
  bool present = false;
};

struct DataSpec {
  std::string format = "idx";
  std::string path;
  std::string strategy = "none";
  double same_weight = 0.9, other_weight = 0.1;
  float same_label = 1;
  SplitSpec train, validation, test;
  bool present = false;
  std::string where;
};

struct TrainSpec {
  std::string optimizer = "rmsprop";
  std::map<std::string, double> optimizer_args;  // learning_rate, rho, momentum, beta_1, ...
  int64_t batch_size = 32;
  int64_t epochs = 1;
  int64_t steps_per_epoch = 0;  // 0: the whole training set each epoch
  int64_t eval_batch_size = 0;  // 0: same as batch_size
  uint64_t seed = 0;
  int threads = 0;              // 0: leave oneDNN's default
  std::string schedule = "constant";  // learning rate per epoch: constant | cosine | step
  double schedule_min = 0;      // cosine: the final learning rate, as a fraction of the first
  double schedule_drop = 0.5;   // step: factor applied every schedule_every epochs
  int64_t schedule_every = 10;
  std::string where;
};

struct GraphSpec {
  std::string file;
  std::string name;
  std::vector<InputSpec> inputs;
  std::map<std::string, TowerSpec> towers;
  std::vector<LayerSpec> nodes;
  std::string output;
  std::string loss;
  DataSpec data;
  TrainSpec train;
};

// Reads and checks the structure of a graph file; every error names file:line:col.
GraphSpec load_graph_spec(const std::string& path);
GraphSpec parse_graph_spec(const std::string& text, const std::string& file_name);

}  // namespace graphrun
