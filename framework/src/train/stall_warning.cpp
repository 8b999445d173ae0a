#include "train/stall_warning.hpp"

#include <cmath>

namespace graphrun {

std::optional<std::string> StallWatch::after_epoch(int64_t epoch, double loss, double rate_factor) {
  // A loss of 0 is a hinge loss fully met, and at the tail of a schedule the weights barely
  // move: neither is a stall.
  const bool same = same_ > 0 && loss != 0 && std::isfinite(loss) && rate_factor >= 0.1 &&
                    std::fabs(loss - first_loss_) <= 1e-6 * std::fabs(first_loss_);
  if (!same) {
    first_loss_ = loss;
    same_ = 1;
    return std::nullopt;
  }
  if (++same_ < kEpochs || warned_) return std::nullopt;
  warned_ = true;
  char text[640];
  std::snprintf(text, sizeof text,
                "graphrun: warning: epoch %lld: the training loss has been %.6g for %d epochs in a row, to six digits, on "
                "different batches: the outputs no longer depend on the inputs (an embedding collapsed to one point, or "
                "every unit before the loss is dead), and training seldom recovers from that. Try a smaller learning "
                "rate, less dropout or erasing, or a loss with a margin.",
                (long long)epoch, loss, kEpochs);
  return std::string(text);
}

}  // namespace graphrun
