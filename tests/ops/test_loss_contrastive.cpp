#include <doctest/doctest.h>
#include <graphrun/error.hpp>
#include <graphrun/harness.hpp>

#include "plugins.hpp"

#include <algorithm>

using namespace graphrun;

namespace {
NodeHarness::Options loss_options(int64_t n) {
  NodeHarness::Options o;
  o.batch = n;
  o.needs_input_grad = {true, false};
  return o;
}

Attributes contrastive(const char* same_label, const char* margin = nullptr, const char* prediction = nullptr) {
  Attributes a("loss");
  if (same_label) a.set("same_label", same_label);
  if (margin) a.set("margin", margin);
  if (prediction) a.set("prediction", prediction);
  return a;
}

// The formula both reference systems write: mean((1 - y) p^2 + y max(m - p, 0)^2).
double reference_formula(const std::vector<float>& p, const std::vector<float>& y, double m) {
  double sum = 0;
  for (size_t k = 0; k < p.size(); ++k) {
    const double hinge = std::max(m - p[k], 0.0);
    sum += (1 - y[k]) * p[k] * p[k] + y[k] * hinge * hinge;
  }
  return sum / p.size();
}

double run(const Attributes& a, const std::vector<float>& p, const std::vector<float>& y) {
  NodeHarness h(testing::registry(), "contrastive_loss", a, {{1}, {1}}, loss_options(int64_t(p.size())));
  h.set_input(0, p);
  h.set_input(1, y);
  h.forward();
  return h.output().at(0);
}
}  // namespace

TEST_CASE("contrastive_loss: R3 convention (label 1 = same pair, sigmoid similarity) is same_label 1, similarity") {
  // R3: y = 1 for a same pair, p > 0.5 read as "same", margin 1.
  const std::vector<float> p{0.9f, 0.2f, 0.7f, 0.05f, 0.4f}, y{1, 0, 1, 0, 1};
  CHECK(run(contrastive("1", "1", "similarity"), p, y) == doctest::Approx(reference_formula(p, y, 1.0)).epsilon(1e-6));
  // Under R3's formula confident, correct predictions cost little and wrong ones a lot.
  CHECK(run(contrastive("1", nullptr, "similarity"), {0.95f, 0.05f}, {1, 0}) < 0.01);
  CHECK(run(contrastive("1", nullptr, "similarity"), {0.05f, 0.95f}, {1, 0}) > 0.8);
}

TEST_CASE("contrastive_loss: R4 convention (label 1 = different pair) is same_label 0, distance") {
  // R4: a sigmoid on top of a Euclidean distance, y = 1 for a DIFFERENT pair, margin 1.
  const std::vector<float> p{0.1f, 0.85f, 0.3f, 0.6f}, y{0, 1, 0, 1};
  CHECK(run(contrastive("0", "1.0"), p, y) == doctest::Approx(reference_formula(p, y, 1.0)).epsilon(1e-6));
  CHECK(run(contrastive("0", "1.0", "distance"), p, y) == doctest::Approx(reference_formula(p, y, 1.0)).epsilon(1e-6));
  // Same pairs (label 0) are pulled to 0: a small p costs little.
  CHECK(run(contrastive("0"), {0.05f, 0.97f}, {0, 1}) < 0.01);
}

TEST_CASE("contrastive_loss: defaults (same_label 1, distance): same pulled to 0; the hinge ends at the margin") {
  // Label 1 pairs pulled to 0, label 0 pairs pushed beyond margin 2; p = 2.5 costs nothing.
  const std::vector<float> p{0.5f, 1.5f, 2.5f, 0.2f}, y{1, 0, 0, 1};
  const double expect = (0.25 + 0.25 + 0 + 0.04) / 4;
  CHECK(run(contrastive(nullptr, "2"), p, y) == doctest::Approx(expect).epsilon(1e-6));
  CHECK(run(contrastive("1", "2"), p, y) == doctest::Approx(expect).epsilon(1e-6));
}

TEST_CASE("contrastive_loss: finite-difference gradient, away from the hinge point") {
  for (const char* same : {"0", "1"})
  for (const char* prediction : {"distance", "similarity"}) {
    CAPTURE(same);
    CAPTURE(prediction);
    NodeHarness h(testing::registry(), "contrastive_loss", contrastive(same, "1.5", prediction), {{1}, {1}}, loss_options(6));
    h.set_input(0, {0.1f, 0.4f, 0.9f, 1.2f, 1.9f, 2.4f});  // p = 1.9, 2.4 beyond the margin
    h.set_input(1, {0, 1, 0, 1, 0, 1});
    auto r = h.check_gradients(1e-3);
    INFO(r.worst);
    CHECK(r.checked == 6);
    CHECK(r.max_error < 1e-2);
  }
}

TEST_CASE("contrastive_loss: finite-difference gradient of a label read from a node") {
  for (const char* same : {"0", "1"})
  for (const char* prediction : {"distance", "similarity"}) {
    CAPTURE(same);
    CAPTURE(prediction);
    NodeHarness::Options o = loss_options(4);
    o.needs_input_grad = {true, true};
    NodeHarness h(testing::registry(), "contrastive_loss", contrastive(same, "1.5", prediction), {{1}, {1}}, o);
    h.set_input(0, {0.1f, 0.8f, 1.2f, 2.0f});
    h.set_input(1, {0.2f, 1, 0.6f, 0});
    auto r = h.check_gradients(1e-3);
    INFO(r.worst);
    CHECK(r.checked == 8);
    CHECK(r.max_error < 1e-2);
  }
}

TEST_CASE("contrastive_loss: bad attributes and shapes are clear errors") {
  CHECK_THROWS_WITH_AS(
      NodeHarness(testing::registry(), "contrastive_loss", contrastive("2"), {{1}, {1}}, loss_options(1)),
      doctest::Contains("attribute 'same_label' must be 0 or 1"), Error);
  CHECK_THROWS_WITH_AS(
      NodeHarness(testing::registry(), "contrastive_loss", contrastive("1", "-1"), {{1}, {1}}, loss_options(1)),
      doctest::Contains("attribute 'margin' must be a positive number"), Error);
  CHECK_THROWS_WITH_AS(
      NodeHarness(testing::registry(), "contrastive_loss", contrastive("1", "wide"), {{1}, {1}}, loss_options(1)),
      doctest::Contains("attribute 'margin' expects a number"), Error);
  CHECK_THROWS_WITH_AS(
      NodeHarness(testing::registry(), "contrastive_loss", contrastive("1", "1", "angle"), {{1}, {1}}, loss_options(1)),
      doctest::Contains("must be one of distance, similarity"), Error);
  CHECK_THROWS_WITH_AS(
      NodeHarness(testing::registry(), "contrastive_loss", contrastive("1"), {{1}, {10}}, loss_options(1)),
      doctest::Contains("prediction [1] and label [10]"), Error);
}
