// Training at chance with a stalled loss is worth one warning naming the likely causes.
#include <doctest/doctest.h>

#include "train/chance_warning.hpp"

using namespace graphrun;

TEST_CASE("chance warning: a binary run at 50% whose loss stalls is warned about once") {
  ChanceWatch w(2);
  CHECK_FALSE(w.after_epoch(1, 0.70, 0.51));  // nothing to compare with yet
  const auto warning = w.after_epoch(2, 0.70, 0.50);
  REQUIRE(warning);
  CHECK(warning->find("at chance") != std::string::npos);
  CHECK(warning->find("learning rate") != std::string::npos);
  CHECK(warning->find("swapped") != std::string::npos);
  CHECK_FALSE(w.after_epoch(3, 0.70, 0.50));  // once per run
}

TEST_CASE("chance warning: learning runs and runs off chance are left alone") {
  ChanceWatch learning(2);
  learning.after_epoch(1, 0.70, 0.50);
  CHECK_FALSE(learning.after_epoch(2, 0.60, 0.52));  // the loss still falls
  ChanceWatch good(2);
  good.after_epoch(1, 0.10, 0.97);
  CHECK_FALSE(good.after_epoch(2, 0.10, 0.97));      // stalled, but far from chance
  ChanceWatch classifier(10);
  classifier.after_epoch(1, 2.30, 0.11);
  CHECK(classifier.after_epoch(2, 2.31, 0.10));      // 10 classes: chance is 0.1
  ChanceWatch none(0);
  none.after_epoch(1, 1.0, 0.5);
  CHECK_FALSE(none.after_epoch(2, 1.0, 0.5));        // no accuracy to judge by
}
