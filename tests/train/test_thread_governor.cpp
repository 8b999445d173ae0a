// The governor keeps whichever thread count runs steps faster, probing the other now and then.
#include <doctest/doctest.h>

#include "train/thread_governor.hpp"
#include "train/threads.hpp"

using namespace graphrun;

namespace {

// Feeds steps whose time depends on the thread count the governor chose for them.
int run(ThreadGovernor& g, int steps, double at_high, double at_low, int high) {
  int low_steps = 0;
  for (int i = 0; i < steps; ++i) {
    const bool low = g.threads() < high;
    low_steps += low;
    g.after_step(low ? at_low : at_high);
  }
  return low_steps;
}

}  // namespace

TEST_CASE("thread governor: a fixed count never changes") {
  ThreadGovernor g(2, false, false);
  run(g, 500, 1.0, 0.1, 2);
  CHECK(g.threads() == 2);
  CHECK(g.switches() == 0);
  ThreadGovernor one(1, true, false, 0.0);  // nothing to choose from
  run(one, 500, 1.0, 0.1, 1);
  CHECK(one.threads() == 1);
}

TEST_CASE("thread governor: moves to fewer threads when they run faster, and back when the load goes") {
  const int saved = threads();
  ThreadGovernor g(2, true, false, 0.0);
  // Quiet: two threads twice as fast; probes fail and back off, most steps stay at 2.
  const int low_quiet = run(g, 2000, 0.01, 0.02, 2);
  CHECK(g.threads() == 2);
  CHECK(g.switches() == 0);
  CHECK(low_quiet < 2000 / 20);  // probing costs under 5% of the steps
  CHECK(threads() == 2);         // the OpenMP count follows
  // Busy: one thread three times as fast as two; a spike makes it look at once.
  run(g, 200, 0.06, 0.02, 2);
  CHECK(g.threads() == 1);
  CHECK(g.switches() == 1);
  CHECK(threads() == 1);
  // Quiet again: back to two within the next probe interval.
  run(g, 200, 0.01, 0.02, 2);
  CHECK(g.threads() == 2);
  CHECK(g.switches() == 2);
  set_threads(saved);
}

TEST_CASE("thread governor: a small difference is not worth a switch") {
  ThreadGovernor g(2, true, false, 0.0);
  run(g, 3000, 0.010, 0.0095, 2);  // 5% faster at one thread: below the 15% it asks for
  CHECK(g.threads() == 2);
  CHECK(g.switches() == 0);
}

TEST_CASE("thread governor: starts with fewer threads when other processes keep the cores busy") {
  const int saved = threads();
  ThreadGovernor busy(2, true, false, 1.5);
  CHECK(busy.threads() == 1);
  CHECK(threads() == 1);
  run(busy, 300, 0.01, 0.02, 2);  // the load went: the probes find two threads faster
  CHECK(busy.threads() == 2);
  ThreadGovernor quiet(2, true, false, 0.2);
  CHECK(quiet.threads() == 2);
  set_threads(saved);
}

TEST_CASE("thread governor: a hopeless probe ends at its first slow step") {
  ThreadGovernor g(2, true, false, 0.0);
  int low_steps = 0;
  for (int i = 0; i < 400; ++i) {
    const bool low = g.threads() < 2;
    low_steps += low;
    g.after_step(low ? 1.0 : 0.01);  // one thread a hundred times slower
  }
  CHECK(g.threads() == 2);
  CHECK(low_steps <= 2 * 3);  // each probe: the unmeasured step and one measured one
}

TEST_CASE("thread governor: at fewer threads, preempted steps do not set off probes") {
  const int saved = threads();
  ThreadGovernor g(2, true, false, 2.0);  // two cores busy elsewhere: starts at one thread
  REQUIRE(g.threads() == 1);
  int high_steps = 0;
  for (int i = 0; i < 3750; ++i) {
    const bool high = g.threads() == 2;
    high_steps += high;
    // One thread shares its core: every 7th step waits for a time slice (5x the others);
    // two threads wait at every barrier (30x).
    g.after_step(high ? 0.030 : (i % 7 == 0 ? 0.005 : 0.001));
  }
  CHECK(g.threads() == 1);
  CHECK(g.switches() == 0);
  // Only the periodic probes (after 64, 128, ... steps), two steps each.
  CHECK(high_steps <= 2 * 7);
  set_threads(saved);
}
