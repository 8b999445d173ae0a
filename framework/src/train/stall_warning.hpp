#pragma once
// A training loss that stays the same to six digits, epoch after epoch, on batches that
// differ, means the outputs no longer depend on the inputs: an embedding collapsed to one
// point (a known failure of triplet losses) or every unit before the loss died. Such a
// run seldom recovers; training says so once instead of finishing quietly at chance.
#include <cstdint>
#include <optional>
#include <string>

namespace graphrun {

class StallWatch {
 public:
  // Epochs in a row with the same loss before the warning.
  static constexpr int kEpochs = 5;
  // After each epoch: its mean training loss and the learning rate's factor (the schedule's
  // and the plateau callback's, 1 at the start). The warning to print, at most once a run.
  std::optional<std::string> after_epoch(int64_t epoch, double loss, double rate_factor);

 private:
  double first_loss_ = 0;
  int same_ = 0;
  bool warned_ = false;
};

}  // namespace graphrun
