#include "train/callbacks.hpp"

#include <graphrun/error.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace graphrun {

namespace {

double worst(MonitorMode mode) {
  const double inf = std::numeric_limits<double>::infinity();
  return mode == MonitorMode::min ? inf : -inf;
}

void check_count(const char* who, const char* what, int64_t value) {
  if (value < 0) throw Error(std::string(who) + ": " + what + " must be >= 0, got " + std::to_string(value));
}

}  // namespace

const std::vector<std::string>& monitor_names() {
  static const std::vector<std::string> names{"loss", "val_loss", "eer", "val_eer", "accuracy", "val_accuracy",
                                              "auc", "val_auc", "oneshot", "val_oneshot"};
  return names;
}

MonitorMode monitor_mode(const std::string& monitor) {
  const auto& names = monitor_names();
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == monitor) return i < 4 ? MonitorMode::min : MonitorMode::max;
  std::string known;
  for (const auto& name : names) known += (known.empty() ? "" : ", ") + name;
  throw Error("unknown monitor '" + monitor + "': known ones are " + known);
}

EarlyStopping::EarlyStopping(std::string monitor, double min_delta, int64_t patience)
    : monitor_(std::move(monitor)), mode_(monitor_mode(monitor_)), min_delta_(std::fabs(min_delta)),
      patience_(patience), best_(worst(mode_)) {
  if (!std::isfinite(min_delta)) throw Error("early stopping: min_delta must be finite");
  check_count("early stopping", "patience", patience);
}

bool EarlyStopping::update(int64_t epoch, double value) {
  // Keras counts the epoch first and resets on improvement, so `patience` non-improving
  // epochs in a row stop training on the last of them.
  ++wait_;
  const bool improved = std::isfinite(value) &&
                        (mode_ == MonitorMode::min ? value + min_delta_ < best_ : value - min_delta_ > best_);
  if (improved) {
    best_ = value;
    best_epoch_ = epoch;
    wait_ = 0;
    return true;
  }
  // Keras never stops on the first epoch (its `epoch > 0`, 0-based).
  if (wait_ >= patience_ && epoch > 1) stopped_ = true;
  return false;
}

ReduceLROnPlateau::ReduceLROnPlateau(std::string monitor, double factor, int64_t patience, double min_delta,
                                     int64_t cooldown, double min_lr)
    : mode_(monitor_mode(monitor)), factor_(factor), min_delta_(min_delta), min_lr_(min_lr), patience_(patience),
      cooldown_(cooldown), best_(worst(mode_)) {
  if (!(factor > 0 && factor < 1))
    throw Error("reduce learning rate on plateau: factor must be in (0, 1), got " + std::to_string(factor));
  if (!std::isfinite(min_delta)) throw Error("reduce learning rate on plateau: min_delta must be finite");
  if (!(min_lr >= 0) || !std::isfinite(min_lr))
    throw Error("reduce learning rate on plateau: min_lr must be finite and >= 0");
  check_count("reduce learning rate on plateau", "patience", patience);
  check_count("reduce learning rate on plateau", "cooldown", cooldown);
}

double ReduceLROnPlateau::update(double value, double learning_rate) {
  // Keras's order: a cooldown epoch counts down and clears the wait before the value is judged,
  // so the epoch that ends the cooldown already counts towards patience.
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    wait_ = 0;
  }
  const bool improved = std::isfinite(value) &&
                        (mode_ == MonitorMode::min ? value < best_ - min_delta_ : value > best_ + min_delta_);
  if (improved) {
    best_ = value;
    wait_ = 0;
    return learning_rate;
  }
  if (cooldown_counter_ > 0 || ++wait_ < patience_) return learning_rate;
  // Keras holds the rate in float32, so a rate already clamped to min_lr compares equal to it there.
  if (static_cast<float>(learning_rate) <= static_cast<float>(min_lr_)) return learning_rate;
  cooldown_counter_ = cooldown_;
  wait_ = 0;
  return std::max(learning_rate * factor_, min_lr_);
}

}  // namespace graphrun
