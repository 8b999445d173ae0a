#include "train/chance_warning.hpp"

#include <cmath>

namespace graphrun {

std::optional<std::string> ChanceWatch::after_epoch(int64_t epoch, double loss, double accuracy) {
  const bool stalled = has_last_ && !(loss < last_loss_ * (1 - 1e-3));
  last_loss_ = loss;
  has_last_ = true;
  if (warned_ || classes_ < 2 || std::isnan(accuracy) || !stalled) return std::nullopt;
  // Balanced pairs sit at 0.5; a classifier guessing sits near 1 / classes.
  const double chance = classes_ == 2 ? 0.5 : 1.0 / double(classes_);
  const bool at_chance = classes_ == 2 ? std::fabs(accuracy - chance) < 0.05 : accuracy < 1.5 * chance;
  if (!at_chance) return std::nullopt;
  warned_ = true;
  char text[640];
  std::snprintf(text, sizeof text,
                "graphrun: warning: epoch %lld: training accuracy %.3f is at chance (%.3f) and the loss stopped improving "
                "(%.4g). Likely causes: a learning rate far too large (try 10x smaller), a loss whose inputs are swapped "
                "(inputs: [prediction, label]), a label convention the wrong way round (data.pairs.same_label, the loss's "
                "same_label / prediction), or a head that saturated at the start.",
                (long long)epoch, accuracy, chance, loss);
  return std::string(text);
}

}  // namespace graphrun
