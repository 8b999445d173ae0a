#pragma once
// The training step, in one place for `graphrun train` (Session) and the benchmark
// (graphrun_bench train), so that the benchmark times the loop training runs: the next
// batch from the loader fed to the graph inputs, forward, backward, the sums over the uses
// of shared weights, L2, the optimizer step at the epoch's learning rate, the running loss
// and accuracy.
#include "data/batches.hpp"
#include "exec/plan.hpp"
#include "graph/model.hpp"
#include "train/metrics.hpp"
#include "train/optimizer.hpp"

#include <functional>

namespace graphrun {

// Learning-rate multiplier of an epoch under train.schedule (cosine, step or none), the run
// having used `elapsed_seconds` before it (read by a cosine schedule over time only).
double learning_rate_factor(const TrainSpec& t, int64_t epoch, double elapsed_seconds = 0);

// The metrics the graph's output allows: binary, categorical, or the loss alone.
Metrics output_metrics(const Model& model);

class StepLoop {
 public:
  using Plans = std::function<Plan&(int64_t batch)>;
  // plans: the plan of a batch size. seed: the run's; with steps_done (the steps of the
  // run so far, a resumed run's) it seeds each step's dropout. score: count accuracy
  // (class-balanced batches train an embedding, which has none). The optimizer's learning
  // rate now is the base the schedule scales.
  StepLoop(Model& model, Optimizer& optimizer, Plans plans, uint64_t seed, int64_t steps_done, bool score);

  // Starts `epoch` at its step `first` (0 unless resumed): the loader's order for that
  // epoch and the learning rate, the schedule's times `factor` (ReduceLROnPlateau's).
  void start_epoch(data::BatchLoader& loader, int64_t epoch, int64_t first = 0, double factor = 1, double elapsed_seconds = 0);
  // One training step on the loader's next batch: its examples, or 0 when the epoch has no
  // batch left (nothing run). A loss that is not finite throws Error.
  int64_t step();

  // The running loss (the L2 term included) and accuracy; the caller resets them per epoch.
  Metrics& metrics() { return metrics_; }
  void reset_metrics() { metrics_ = output_metrics(model_); }
  int64_t steps_done() const { return steps_done_; }
  // The epoch's learning rate over the base: the schedule's and the plateau callback's factors.
  double rate_factor() const { return base_lr_ > 0 ? optimizer_.learning_rate() / base_lr_ : 0; }

 private:
  Model& model_;
  Optimizer& optimizer_;
  Plans plans_;
  data::BatchLoader* loader_ = nullptr;
  const double base_lr_;
  const uint64_t seed_;
  const int label_;
  const bool score_;
  Metrics metrics_;
  int64_t steps_done_, epoch_ = 0, epoch_step_ = 0;
};

}  // namespace graphrun
