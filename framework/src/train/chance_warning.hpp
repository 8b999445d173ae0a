#pragma once
// A run that trains at chance usually has a cause the user can fix: a learning rate far
// too large, a loss whose prediction and label inputs are swapped, pairs labelled the
// wrong way round. Training says so once instead of finishing quietly at 50%.
#include <cstdint>
#include <optional>
#include <string>

namespace graphrun {

class ChanceWatch {
 public:
  // classes: 2 for a binary output, else the categorical output's size; 0 for none.
  explicit ChanceWatch(int64_t classes) : classes_(classes) {}
  // After each epoch: the warning to print, if this epoch is at chance and its loss did not
  // improve on the last one (at most once per run).
  std::optional<std::string> after_epoch(int64_t epoch, double loss, double accuracy);

 private:
  int64_t classes_;
  double last_loss_ = 0;
  bool has_last_ = false, warned_ = false;
};

}  // namespace graphrun
