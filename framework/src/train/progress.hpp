#pragma once
// Per-epoch progress on stderr: a live bar on a terminal, one line per epoch otherwise.
#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace graphrun {

// An accuracy that is NaN (class-balanced batches have none) is left out.
class Progress {
 public:
  Progress(bool enabled, int64_t epoch, int64_t epochs, int64_t steps);
  void update(int64_t step, double loss, double accuracy);
  // The epoch's line: every figure it recorded (loss, accuracy, val_*, test_oneshot_runs).
  void finish(const std::map<std::string, double>& figures, double seconds);

 private:
  bool enabled_, live_;
  int64_t epoch_, epochs_, steps_;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace graphrun
