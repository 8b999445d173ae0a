// A training loss frozen to six digits for several epochs is worth one warning.
#include <doctest/doctest.h>

#include "train/stall_warning.hpp"

using namespace graphrun;

TEST_CASE("stall warning: a loss frozen at log 2 is warned about once, after kEpochs epochs") {
  StallWatch w;
  int64_t epoch = 1;
  CHECK_FALSE(w.after_epoch(epoch++, 1.2, 1.0));
  for (int k = 1; k < StallWatch::kEpochs; ++k) CHECK_FALSE(w.after_epoch(epoch++, 0.6931472, 1.0));
  const auto warning = w.after_epoch(epoch++, 0.6931472 * (1 + 1e-8), 1.0);
  REQUIRE(warning);
  CHECK(warning->find("0.693147") != std::string::npos);
  CHECK(warning->find("collapsed") != std::string::npos);
  CHECK(warning->find("learning rate") != std::string::npos);
  CHECK_FALSE(w.after_epoch(epoch++, 0.6931472, 1.0));  // once per run
}

TEST_CASE("stall warning: learning runs, a met hinge and a schedule's tail are left alone") {
  StallWatch learning;
  for (int64_t e = 1; e <= 20; ++e) CHECK_FALSE(learning.after_epoch(e, 1.0 / double(e), 1.0));
  StallWatch slow;  // a change in the fifth digit is still learning
  for (int64_t e = 1; e <= 20; ++e) CHECK_FALSE(slow.after_epoch(e, 0.5 + 1e-5 * double(e), 1.0));
  StallWatch met;
  for (int64_t e = 1; e <= 20; ++e) CHECK_FALSE(met.after_epoch(e, 0.0, 1.0));
  StallWatch tail;  // a cosine schedule near its end: the weights barely move
  for (int64_t e = 1; e <= 20; ++e) CHECK_FALSE(tail.after_epoch(e, 0.25, 0.05));
  StallWatch interrupted;  // one differing epoch starts the count again
  for (int k = 1; k < StallWatch::kEpochs; ++k) CHECK_FALSE(interrupted.after_epoch(k, 0.7, 1.0));
  CHECK_FALSE(interrupted.after_epoch(10, 0.6, 1.0));
  for (int k = 1; k < StallWatch::kEpochs - 1; ++k) CHECK_FALSE(interrupted.after_epoch(10 + k, 0.6, 1.0));
  CHECK(interrupted.after_epoch(20, 0.6, 1.0));
}
