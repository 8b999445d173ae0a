// Learning-rate schedules: cosine over the epochs, and over the time budget, where the
// larger of the two fractions used sets the place on the curve; the graph file's mistakes.
#include <doctest/doctest.h>

#include <graphrun/error.hpp>

#include "graph/spec.hpp"
#include "image_fixtures.hpp"
#include "train/step_loop.hpp"

#include <cmath>

using namespace graphrun;

namespace {

TrainSpec cosine(const std::string& over) {
  TrainSpec t;
  t.schedule = "cosine";
  t.schedule_over = over;
  t.epochs = 10;
  t.max_minutes = 2;  // 120 s
  return t;
}

double curve(double done) { return 0.5 * (1 + std::cos(M_PI * done)); }

std::string refusal(const std::string& train) {
  const std::string path = testing::fresh_folder("schedule_graph") + "/g.yaml";
  testing::write_text(path, "name: s\ninputs:\n  x: {shape: [2]}\nnodes:\n  y: {op: dense, units: 1, input: x}\noutput: y\ntrain: " + train + "\n");
  try {
    load_graph_spec(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "accepted";
}

}  // namespace

TEST_CASE("schedule: cosine over the epochs ignores the time used") {
  const TrainSpec t = cosine("epochs");
  CHECK(learning_rate_factor(t, 0, 100) == doctest::Approx(1.0));
  CHECK(learning_rate_factor(t, 5, 0) == doctest::Approx(0.5));
  CHECK(learning_rate_factor(t, 5, 119) == doctest::Approx(0.5));
}

TEST_CASE("schedule: cosine over time follows whichever budget is further used") {
  const TrainSpec t = cosine("time");
  CHECK(learning_rate_factor(t, 0, 0) == doctest::Approx(1.0));
  CHECK(learning_rate_factor(t, 1, 60) == doctest::Approx(curve(0.5)));   // half the time, a tenth of the epochs
  CHECK(learning_rate_factor(t, 8, 60) == doctest::Approx(curve(0.8)));   // the epochs further along
  CHECK(learning_rate_factor(t, 2, 114) == doctest::Approx(curve(0.95)));
  CHECK(learning_rate_factor(t, 2, 500) == doctest::Approx(0.0));        // past the budget: the end of the curve
  TrainSpec floor = t;
  floor.schedule_min = 0.1;
  CHECK(learning_rate_factor(floor, 1, 60) == doctest::Approx(0.1 + 0.9 * curve(0.5)));
}

TEST_CASE("schedule: over time needs a cosine schedule and a time budget") {
  CHECK(refusal("{epochs: 3, max_minutes: 1, schedule: {name: cosine, over: time}}") == "accepted");
  CHECK(refusal("{epochs: 3, schedule: {name: cosine, over: time}}").find("needs train.max_minutes") != std::string::npos);
  CHECK(refusal("{epochs: 3, max_minutes: 1, schedule: {name: step, over: time}}").find("for the cosine schedule") !=
        std::string::npos);
  CHECK(refusal("{epochs: 3, max_minutes: 1, schedule: {name: cosine, over: steps}}").find("epochs or time") != std::string::npos);
}
