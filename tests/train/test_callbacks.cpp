// EarlyStopping and ReduceLROnPlateau driven by scripted per-epoch figures; the expected
// epochs and rates follow Keras's on_epoch_end step by step (worked in the comments).
#include <doctest/doctest.h>

#include "train/callbacks.hpp"
#include <graphrun/error.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

using namespace graphrun;

namespace {

const double not_a_number = std::numeric_limits<double>::quiet_NaN();
const double inf = std::numeric_limits<double>::infinity();

// Feeds epochs 1, 2, ... and returns which ones were new bests; stops feeding once it says stop.
std::vector<bool> run(EarlyStopping& es, const std::vector<double>& values) {
  std::vector<bool> best;
  for (size_t i = 0; i < values.size() && !es.should_stop(); ++i) best.push_back(es.update(int64_t(i) + 1, values[i]));
  return best;
}

// The learning rate in force after each epoch, starting from `lr`.
std::vector<double> rates(ReduceLROnPlateau& r, const std::vector<double>& values, double lr = 1.0) {
  std::vector<double> out;
  for (double v : values) out.push_back(lr = r.update(v, lr));
  return out;
}

void check_rates(const std::vector<double>& got, const std::vector<double>& expected) {
  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("epoch " << i + 1);
    CHECK(got[i] == doctest::Approx(expected[i]));
  }
}

}  // namespace

TEST_CASE("monitor names map to their direction; unknown ones are an error") {
  for (const char* name : {"loss", "val_loss", "eer", "val_eer"}) CHECK(monitor_mode(name) == MonitorMode::min);
  for (const char* name : {"accuracy", "val_accuracy", "auc", "val_auc", "oneshot", "val_oneshot"})
    CHECK(monitor_mode(name) == MonitorMode::max);
  CHECK(monitor_names().size() == 10);
  CHECK_THROWS_WITH_AS(monitor_mode("val_los"), doctest::Contains("'val_los'"), Error);
  CHECK_THROWS_WITH_AS(monitor_mode("acc"), doctest::Contains("loss, val_loss, eer"), Error);
  CHECK_THROWS_WITH_AS(EarlyStopping("val_acc", 0, 1), doctest::Contains("val_oneshot"), Error);
  CHECK_THROWS_WITH_AS(ReduceLROnPlateau("precision"), doctest::Contains("val_accuracy"), Error);
}

TEST_CASE("EarlyStopping on val_loss: min_delta 0.01, patience 2") {
  // Improvement means value < best - 0.01.
  // e1 1.0 < inf: best. e2 0.5 < 0.99: best (wait 0). e3 0.495 !< 0.49: wait 1.
  // e4 0.492 !< 0.49: wait 2 >= 2 -> stop at epoch 4; best epoch 2, best 0.5. e5 is never fed.
  EarlyStopping es("val_loss", 0.01, 2);
  CHECK(es.monitor() == "val_loss");
  CHECK(run(es, {1.0, 0.5, 0.495, 0.492, 0.3}) == std::vector<bool>{true, true, false, false});
  CHECK(es.should_stop());
  CHECK(es.best_epoch() == 2);
  CHECK(es.best() == 0.5);
}

TEST_CASE("EarlyStopping: an improvement resets the wait") {
  // e1 1.0 best; e2 0.9 < 0.99 best; e3 0.895 !< 0.89 wait 1; e4 0.85 < 0.89 best, wait 0;
  // e5 0.849 !< 0.84 wait 1; e6 0.848 wait 2 -> stop at 6, best epoch 4.
  EarlyStopping es("loss", 0.01, 2);
  CHECK(run(es, {1.0, 0.9, 0.895, 0.85, 0.849, 0.848, 0.1}) ==
        std::vector<bool>{true, true, false, true, false, false});
  CHECK(es.should_stop());
  CHECK(es.best_epoch() == 4);
  CHECK(es.best() == 0.85);
}

TEST_CASE("EarlyStopping on val_accuracy maximises") {
  // Improvement means value > best + 0.01.
  // e1 .5 best; e2 .6 > .51 best; e3 .605 !> .61 wait 1; e4 .7 > .61 best; e5 .69 wait 1;
  // e6 .705 !> .71 wait 2 -> stop at 6, best epoch 4, best .7.
  EarlyStopping es("val_accuracy", 0.01, 2);
  CHECK(run(es, {0.5, 0.6, 0.605, 0.7, 0.69, 0.705}) == std::vector<bool>{true, true, false, true, false, false});
  CHECK(es.should_stop());
  CHECK(es.best_epoch() == 4);
  CHECK(es.best() == 0.7);
}

TEST_CASE("EarlyStopping takes |min_delta| and needs a strict improvement") {
  // A negative min_delta acts like its magnitude (Keras's abs): same stop as the first case.
  EarlyStopping negative("val_loss", -0.01, 2);
  CHECK(run(negative, {1.0, 0.5, 0.495, 0.492, 0.3}).size() == 4);
  CHECK(negative.best_epoch() == 2);
  // min_delta 0: an equal value is not an improvement. e2 1.0 !< 1.0: wait 1 >= 1 -> stop at 2.
  EarlyStopping equal("val_eer", 0, 1);
  CHECK(run(equal, {1.0, 1.0, 0.5}) == std::vector<bool>{true, false});
  CHECK(equal.should_stop());
  CHECK(equal.best_epoch() == 1);
}

TEST_CASE("EarlyStopping: non-finite values never improve") {
  // val_loss patience 2: e1 1.0 best; e2 NaN and e3 -inf (which would beat 1.0 if compared) are
  // not improvements: wait 2 at epoch 3 -> stop, best still epoch 1.
  EarlyStopping es("val_loss", 0, 2);
  CHECK(run(es, {1.0, not_a_number, -inf, 0.5}) == std::vector<bool>{true, false, false});
  CHECK(es.should_stop());
  CHECK(es.best_epoch() == 1);
  CHECK(es.best() == 1.0);

  // Patience 0 with NaN from the start: Keras never stops on the first epoch; it stops on the second.
  EarlyStopping zero("val_auc", 0, 0);
  CHECK_FALSE(zero.update(1, not_a_number));
  CHECK_FALSE(zero.should_stop());
  CHECK(zero.best_epoch() == 0);
  CHECK(zero.best() == -inf);
  CHECK_FALSE(zero.update(2, not_a_number));
  CHECK(zero.should_stop());
}

TEST_CASE("ReduceLROnPlateau on val_loss reduces after patience epochs without improvement") {
  // factor .5, patience 2, min_delta 1e-4, lr 1. e1 best; e2 wait 1; e3 wait 2 -> .5, wait 0;
  // e4 wait 1; e5 wait 2 -> .25; e6 0.5 < 1 - 1e-4: best, rate kept.
  ReduceLROnPlateau r("val_loss", 0.5, 2);
  check_rates(rates(r, {1, 1, 1, 1, 1, 0.5}), {1, 1, .5, .5, .25, .25});
}

TEST_CASE("ReduceLROnPlateau min_delta in both modes") {
  // min: improvement means value < best - .1. e1 1.0 best; e2 .95 !< .9 -> .5 (patience 1);
  // e3 .85 < .9 best; e4 .8 !< .75 -> .25.
  ReduceLROnPlateau down("loss", 0.5, 1, 0.1);
  check_rates(rates(down, {1.0, 0.95, 0.85, 0.8}), {1, .5, .5, .25});
  // max: improvement means value > best + .01. e1 .8 best; e2 .805 !> .81 -> .5; e3 .9 best;
  // e4 .905 !> .91 -> .25.
  ReduceLROnPlateau up("val_auc", 0.5, 1, 0.01);
  check_rates(rates(up, {0.8, 0.805, 0.9, 0.905}), {1, .5, .5, .25});
}

TEST_CASE("ReduceLROnPlateau cooldown") {
  // factor .1, patience 1, cooldown 2, a flat loss. e1 best; e2 wait 1 -> .1, cooldown 2;
  // e3 cooldown 2 -> 1, wait 0, still cooling: skip; e4 cooldown 1 -> 0, wait 0, then judged:
  // wait 1 -> .01, cooldown 2; e5 skip; e6 -> .001.
  ReduceLROnPlateau cool("val_loss", 0.1, 1, 1e-4, 2);
  check_rates(rates(cool, {1, 1, 1, 1, 1, 1}), {1, .1, .1, .01, .01, .001});
  // Without cooldown every flat epoch after the first reduces.
  ReduceLROnPlateau none("val_loss", 0.1, 1, 1e-4, 0);
  check_rates(rates(none, {1, 1, 1, 1}), {1, .1, .01, .001});
  // patience 2, cooldown 2: reduce at e3; e4 skipped; e5 wait 1; e6 wait 2 -> .25.
  ReduceLROnPlateau longer("val_loss", 0.5, 2, 1e-4, 2);
  check_rates(rates(longer, {1, 1, 1, 1, 1, 1}), {1, 1, .5, .5, .5, .25});
}

TEST_CASE("ReduceLROnPlateau records a new best during cooldown") {
  // factor .5, patience 1, cooldown 3, min_delta 0. e1 1.0 best; e2 -> .5, cooldown 3;
  // e3 0.5 (cooldown 2) is a new best; e4 0.6 (cooldown 1) skipped; e5 0.6 (cooldown 0) is
  // judged against 0.5, not 1.0: wait 1 -> .25.
  ReduceLROnPlateau r("val_loss", 0.5, 1, 0, 3);
  check_rates(rates(r, {1.0, 1.0, 0.5, 0.6, 0.6}), {1, .5, .5, .5, .25});
}

TEST_CASE("ReduceLROnPlateau never goes below min_lr") {
  // factor .1, patience 1, min_lr .05: 1 -> .1 -> max(.01, .05) = .05, then it stays.
  ReduceLROnPlateau r("val_loss", 0.1, 1, 1e-4, 0, 0.05);
  const auto got = rates(r, {1, 1, 1, 1, 1});
  check_rates(got, {1, .1, .05, .05, .05});
  CHECK(got[2] == 0.05);
  // A rate already below min_lr is left alone rather than raised.
  ReduceLROnPlateau low("val_loss", 0.1, 1, 1e-4, 0, 0.05);
  check_rates(rates(low, {1, 1}, 0.01), {0.01, 0.01});
}

TEST_CASE("ReduceLROnPlateau: non-finite values never improve") {
  // patience 2: e1 1.0 best; e2 NaN wait 1; e3 -inf wait 2 -> .5; e4 0.5 best.
  ReduceLROnPlateau r("val_loss", 0.5, 2);
  check_rates(rates(r, {1.0, not_a_number, -inf, 0.5, 0.5}), {1, 1, .5, .5, .5});
}

TEST_CASE("ReduceLROnPlateau factor must be in (0, 1)") {
  for (double factor : {1.0, 0.0, -0.5, 1.5, not_a_number})
    CHECK_THROWS_WITH_AS(ReduceLROnPlateau("val_loss", factor), doctest::Contains("factor must be in (0, 1)"), Error);
  CHECK_NOTHROW(ReduceLROnPlateau("val_loss", 0.999));
  CHECK_THROWS_AS(ReduceLROnPlateau("val_loss", 0.5, -1), Error);
  CHECK_THROWS_AS(ReduceLROnPlateau("val_loss", 0.5, 1, 1e-4, -1), Error);
  CHECK_THROWS_AS(ReduceLROnPlateau("val_loss", 0.5, 1, 1e-4, 0, -0.1), Error);
  CHECK_THROWS_AS(EarlyStopping("val_loss", 0, -1), Error);
}
