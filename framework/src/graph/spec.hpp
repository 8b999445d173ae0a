#pragma once
// The graph file as written: a plain description, before any op is resolved.
#include "graph/data_spec.hpp"

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

struct EarlyStoppingSpec {
  bool present = false;
  std::string monitor = "val_loss";
  double min_delta = 0;
  int64_t patience = 0;
  bool restore_best = true;  // end with the best epoch's weights
};

struct PlateauSpec {  // Keras's ReduceLROnPlateau
  bool present = false;
  std::string monitor = "val_loss";
  double factor = 0.1, min_delta = 1e-4, min_lr = 0;
  int64_t patience = 10, cooldown = 0;
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
  // cosine over "time": each epoch's place on the curve is the larger of the epochs and the
  // minutes used, as fractions of train.epochs and train.max_minutes, so that a run the time
  // budget ends is annealed when it ends, on a fast machine or a slow one.
  std::string schedule_over = "epochs";
  double schedule_drop = 0.5;   // step: factor applied every schedule_every epochs
  int64_t schedule_every = 10;
  EarlyStoppingSpec early_stopping;
  PlateauSpec reduce_lr_on_plateau;
  double max_minutes = 0;       // wall-clock budget: stop after the epoch that passes it (0: none)
  int64_t checkpoint_every_steps = 0;  // also write last.safetensors every N steps (0: each epoch only)
  std::string precision = "f32";       // f32 | bf16 (checked against the CPU: train/precision.hpp)
  std::string precision_where;         // file:line:column of train.precision, when given
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
  EvaluationSpec evaluation;
  TrainSpec train;
};

// Reads and checks the structure of a graph file; every error names file:line:col.
GraphSpec load_graph_spec(const std::string& path);
GraphSpec parse_graph_spec(const std::string& text, const std::string& file_name);

}  // namespace graphrun
