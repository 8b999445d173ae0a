#pragma once
// Epoch-end callbacks with Keras's semantics (keras.callbacks.EarlyStopping and
// ReduceLROnPlateau), fed one monitored figure per epoch by the training loop.
#include <cstdint>
#include <string>
#include <vector>

namespace graphrun {

enum class MonitorMode { min, max };

// "loss", "val_loss", "eer", "val_eer" -> min; "accuracy", "val_accuracy", "auc", "val_auc",
// "oneshot", "val_oneshot" -> max; anything else throws Error listing the known names.
MonitorMode monitor_mode(const std::string& monitor);
const std::vector<std::string>& monitor_names();

// Stops once `patience` epochs in a row bring no improvement: a value better than the best so
// far by more than |min_delta| (Keras takes the magnitude, whatever the sign given).
// A non-finite value never counts as an improvement.
class EarlyStopping {
 public:
  EarlyStopping(std::string monitor, double min_delta, int64_t patience);
  // Feed one epoch's value (epoch is 1-based). Returns true when it is a new best (the caller
  // then keeps its weights, which is Keras's restore_best_weights).
  bool update(int64_t epoch, double value);
  bool should_stop() const { return stopped_; }
  int64_t best_epoch() const { return best_epoch_; }  // 0 until some epoch improves
  double best() const { return best_; }               // +-infinity until some epoch improves
  const std::string& monitor() const { return monitor_; }

  // The counters and best value a checkpoint keeps, so that a resumed run stops where an
  // uninterrupted one would.
  struct State {
    int64_t wait = 0, best_epoch = 0;
    double best = 0;
    bool stopped = false;
  };
  State state() const { return {wait_, best_epoch_, best_, stopped_}; }
  void restore(const State& s) { wait_ = s.wait, best_epoch_ = s.best_epoch, best_ = s.best, stopped_ = s.stopped; }

 private:
  std::string monitor_;
  MonitorMode mode_;
  double min_delta_;
  int64_t patience_;
  int64_t wait_ = 0;
  int64_t best_epoch_ = 0;
  double best_;
  bool stopped_ = false;
};

// Multiplies the learning rate by `factor` once `patience` epochs in a row bring no
// improvement (better than the best by more than min_delta, taken as given like Keras does),
// then ignores `cooldown` epochs' worth of waiting; never goes below min_lr.
// A non-finite value never counts as an improvement.
class ReduceLROnPlateau {
 public:
  ReduceLROnPlateau(std::string monitor, double factor = 0.1, int64_t patience = 10, double min_delta = 1e-4,
                    int64_t cooldown = 0, double min_lr = 0);  // factor must be in (0, 1): else throw Error
  // Feed one epoch's value and the current learning rate; returns the learning rate to use from now on.
  double update(double value, double learning_rate);

  struct State {  // for checkpoints, as EarlyStopping's
    int64_t wait = 0, cooldown_counter = 0;
    double best = 0;
  };
  State state() const { return {wait_, cooldown_counter_, best_}; }
  void restore(const State& s) { wait_ = s.wait, cooldown_counter_ = s.cooldown_counter, best_ = s.best; }

 private:
  MonitorMode mode_;
  double factor_, min_delta_, min_lr_;
  int64_t patience_, cooldown_;
  int64_t wait_ = 0, cooldown_counter_ = 0;
  double best_;
};

}  // namespace graphrun
