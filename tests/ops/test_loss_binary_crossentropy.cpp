#include <doctest/doctest.h>
#include <graphrun/error.hpp>
#include <graphrun/harness.hpp>

#include "plugins.hpp"

#include <cmath>

using namespace graphrun;

namespace {
// Prediction needs a gradient, the label never does.
NodeHarness::Options loss_options(int64_t n) {
  NodeHarness::Options o;
  o.batch = n;
  o.needs_input_grad = {true, false};
  return o;
}
}  // namespace

TEST_CASE("binary_crossentropy: Keras value, with p clipped to [1e-7, 1 - 1e-7]") {
  NodeHarness h(testing::registry(), "binary_crossentropy", Attributes("l"), {{1}, {1}}, loss_options(4));
  CHECK(h.output_shape() == Shape{});
  const std::vector<float> p{0.9f, 0.2f, 0.0f, 1.0f}, y{1, 0, 1, 1};
  h.set_input(0, p);
  h.set_input(1, y);
  h.forward();
  const double expect =
      -(std::log(0.9) + std::log(1 - 0.2) + std::log(1e-7) + std::log(1 - 1e-7)) / 4;  // p = 0 and 1 clip
  REQUIRE(h.output().size() == 1);
  CHECK(h.output()[0] == doctest::Approx(expect).epsilon(1e-5));
}

TEST_CASE("binary_crossentropy: gradient is (p - y) / (p (1 - p)) / N, zero where clipped") {
  NodeHarness h(testing::registry(), "binary_crossentropy", Attributes("l"), {{1}, {1}}, loss_options(4));
  h.set_input(0, {0.25f, 0.6f, 0.0f, 1.0f});
  h.set_input(1, {1, 0, 1, 0});
  h.forward();
  h.backward({2});  // dL/dloss = 2
  const auto g = h.input_grad(0);
  CHECK(g[0] == doctest::Approx(2 * (0.25 - 1) / (0.25 * 0.75) / 4));
  CHECK(g[1] == doctest::Approx(2 * 0.6 / (0.6 * 0.4) / 4));
  CHECK(g[2] == 0.f);
  CHECK(g[3] == 0.f);
}

TEST_CASE("binary_crossentropy: finite-difference gradient of the prediction") {
  NodeHarness h(testing::registry(), "binary_crossentropy", Attributes("l"), {{1}, {1}}, loss_options(6));
  h.set_input(0, {0.1f, 0.35f, 0.5f, 0.62f, 0.8f, 0.9f});
  h.set_input(1, {0, 1, 1, 0, 1, 0});
  auto r = h.check_gradients(1e-3);
  INFO(r.worst);
  CHECK(r.checked == 6);
  CHECK(r.max_error < 1e-2);
}

TEST_CASE("binary_crossentropy: finite-difference gradient of a label read from a node") {
  NodeHarness::Options o = loss_options(4);
  o.needs_input_grad = {true, true};
  NodeHarness h(testing::registry(), "binary_crossentropy", Attributes("l"), {{1}, {1}}, o);
  h.set_input(0, {0.2f, 0.45f, 0.7f, 0.9f});
  h.set_input(1, {0.1f, 0.9f, 0.5f, 0.3f});  // soft targets
  auto r = h.check_gradients(1e-3);
  INFO(r.worst);
  CHECK(r.checked == 8);
  CHECK(r.max_error < 1e-2);
}

TEST_CASE("binary_crossentropy: bad eps and mismatched shapes are clear errors") {
  Attributes a("l");
  a.set("eps", "0.7");
  CHECK_THROWS_WITH_AS(NodeHarness(testing::registry(), "binary_crossentropy", a, {{1}, {1}}, loss_options(1)),
                       doctest::Contains("attribute 'eps' must be in (0, 0.5)"), Error);
  CHECK_THROWS_WITH_AS(
      NodeHarness(testing::registry(), "binary_crossentropy", Attributes("l"), {{1}, {2}}, loss_options(1)),
      doctest::Contains("prediction [1] and label [2]"), Error);
}
