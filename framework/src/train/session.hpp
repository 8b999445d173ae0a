#pragma once
// One graph with its data, plans, optimizer and run folder: what `graphrun train`,
// `graphrun eval` and the tests drive.
#include "data/batches.hpp"
#include "eval/oneshot.hpp"
#include "eval/scoring.hpp"
#include "eval/verification.hpp"
#include "exec/plan.hpp"
#include "graph/model.hpp"
#include "io/checkpoint.hpp"
#include "train/datasets.hpp"
#include "train/metrics.hpp"
#include "train/optimizer.hpp"

#include <graphrun/plugin_loader.hpp>

#include <functional>
#include <map>
#include <tuple>
#include <memory>
#include <optional>
#include <string>

namespace graphrun {

struct SessionOptions {
  std::string out_dir;              // default runs/<graph name>
  std::optional<uint64_t> seed;     // overrides train.seed
  std::optional<int64_t> epochs;    // overrides train.epochs
  std::string data_path;            // overrides data.path
  std::string precision;            // overrides train.precision (f32 or bf16) when set
  bool verbose = false;             // log primitives and their implementations
  bool progress = true;             // per-epoch progress output on stderr
  // Let training change the thread count when fewer threads run faster (a busy machine);
  // off when the user fixed the count. See ThreadGovernor.
  bool adaptive_threads = false;
  // Continue the run in this folder from its last.safetensors (seed, epochs and --data
  // default to the run's; its graph name and file hash must match).
  std::string resume_dir;
};

struct EpochRecord {
  int64_t epoch;
  double loss, accuracy, val_loss, val_accuracy, seconds;
  bool has_validation;
  double learning_rate = 0;
  std::map<std::string, double> figures;  // every monitorable figure: loss, val_auc, val_oneshot, ...
};

// Everything known about one split after a pass over it in evaluation mode.
struct RunState;

struct SplitFigures {
  Metrics metrics = Metrics::binary(1, true);
  std::optional<eval::Verification> verification;  // pair graphs and embeddings
  std::optional<eval::OneShotResult> oneshot;      // evaluation.tasks drawn from the split
};

class Session {
 public:
  Session(const std::string& graph_path, const Registry& registry, SessionOptions options);
  ~Session();

  Model& model() { return *model_; }
  const GraphSpec& spec() const { return model_->spec(); }
  uint64_t seed() const { return seed_; }

  // Trains for the configured epochs (or until early stopping or the time budget ends it);
  // writes history.csv, last.safetensors each epoch (and every train.checkpoint_every_steps
  // steps) holding all a resumed run needs, best.safetensors with early stopping, and
  // weights.safetensors (the weights training ends with). On SIGINT or SIGTERM it finishes
  // the step, writes last.safetensors and throws Interrupted (train/signals.hpp).
  std::vector<EpochRecord> train();
  // Scores a split ("train", "validation" or "test") in evaluation mode.
  Metrics evaluate(const std::string& split);
  // The same pass, with verification figures and one-shot tasks where the graph allows them.
  // Not final (the per-epoch validation), a pair graph is verified on the split's own pairs
  // whatever evaluation.verify says: every pair of images through the graph is for the end.
  SplitFigures evaluate_all(const std::string& split, bool final = true);
  // The official one-shot runs named by evaluation.oneshot_runs.
  eval::OneShotResult evaluate_oneshot_runs();
  eval::Scorer scorer();

  void save_weights(const std::string& path);
  // Loads every parameter (and optimizer state when present) from a checkpoint written
  // for this graph; a missing tensor or a shape mismatch throws Error naming both shapes,
  // and so does a checkpoint of another graph unless from_other_graph.
  void load_weights(const std::string& path, bool from_other_graph = false);
  std::string out_dir() const { return out_dir_; }
  // The compute threads the resumed run had (0: not resumed, or unknown).
  int resumed_threads() const;

 private:
  struct Split {
    SplitData data;
    std::unique_ptr<data::BatchLoader> loader;
  };
  Split& split(const std::string& name);
  Plan& plan(int64_t batch);
  // For eval-mode passes: the training plan of this batch size where there is one, else an
  // inference plan (no backward, no gradient buffers).
  Plan& eval_plan(int64_t batch);
  Plan& make_plan(int64_t batch, Plan::Purpose purpose);
  void load_node_weights();
  std::map<std::string, double> validation_figures(EpochRecord& r);
  Checkpoint weights_checkpoint() const;
  void load_tensors(const Checkpoint& c, const std::string& path);
  Checkpoint open_resume(const GraphSpec& spec);  // session_resume.cpp
  void save_run(RunState& run);

  SessionOptions options_;
  uint64_t seed_ = 0;
  dnnl::engine engine_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<DataSource> source_;
  std::map<std::tuple<int64_t, int, Plan::Purpose>, std::unique_ptr<Plan>> plans_;  // per (batch, threads, purpose)
  std::map<std::string, std::unique_ptr<Split>> splits_;
  std::string out_dir_;
  std::string graph_hash_;             // of the graph file's text, in every checkpoint
  std::unique_ptr<RunState> resumed_;  // --resume: where the run stopped
  std::unique_ptr<data::OneShotSet> oneshot_runs_;  // read once, scored after every epoch
  int64_t step_ = 0;
};

}  // namespace graphrun
