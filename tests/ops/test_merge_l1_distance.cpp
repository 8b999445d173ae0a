#include <doctest/doctest.h>
#include <graphrun/error.hpp>
#include <graphrun/harness.hpp>

#include "harness_options.hpp"
#include "plugins.hpp"

#include <cmath>

using namespace graphrun;
using graphrun::testing::batch_of;

namespace {
// b = a + offset with |offset| >= 0.1, so no entry sits at the kink a == b.
void set_separated_inputs(NodeHarness& h, size_t count) {
  std::vector<float> a(count), b(count);
  for (size_t k = 0; k < count; ++k) {
    a[k] = std::sin(0.7f * k);
    b[k] = a[k] + ((k % 2) ? 0.1f + 0.05f * (k % 5) : -0.2f - 0.03f * (k % 7));
  }
  h.set_input(0, a);
  h.set_input(1, b);
}
}  // namespace

TEST_CASE("l1_distance: |a - b| forward and sign(a - b) * g backward") {
  NodeHarness h(testing::registry(), "l1_distance", Attributes("d"), {{3}, {3}}, batch_of(2));
  REQUIRE(h.output_shape() == Shape{3});
  h.set_input(0, {1, 2, 3, 4, 5, 6});
  h.set_input(1, {0.5f, 4, -1, 4.5f, 0, 10});
  h.forward();
  CHECK(h.output() == std::vector<float>{0.5f, 2, 4, 0.5f, 5, 4});
  h.backward({1, 2, 3, 4, 5, 6});
  CHECK(h.input_grad(0) == std::vector<float>{1, -2, 3, -4, 5, -6});
  CHECK(h.input_grad(1) == std::vector<float>{-1, 2, -3, 4, -5, 6});
  for (const auto& impl : h.implementations()) CHECK(impl.rfind("ref", 0) != 0);
}

TEST_CASE("l1_distance: only b's gradient wanted") {
  NodeHarness h(testing::registry(), "l1_distance", Attributes("d"), {{2}, {2}}, batch_of(2, {false, true}));
  h.set_input(0, {1, 2, 3, 4});
  h.set_input(1, {2, 1, 3.5f, 3});
  h.forward();
  h.backward({1, 2, 3, 4});
  CHECK(h.input_grad(1) == std::vector<float>{1, -2, 3, -4});  // -sign(a - b) * g
}

TEST_CASE("l1_distance: finite-difference gradients") {
  SUBCASE("rank 1, both inputs") {
    NodeHarness h(testing::registry(), "l1_distance", Attributes("d"), {{10}, {10}}, batch_of(3));
    set_separated_inputs(h, 30);
    auto r = h.check_gradients(1e-2);
    INFO(r.worst);
    CHECK(r.checked > 0);
    CHECK(r.max_error < 1e-2);
  }
  SUBCASE("rank 2, only b") {
    NodeHarness h(testing::registry(), "l1_distance", Attributes("d"), {{2, 4}, {2, 4}}, batch_of(2, {false, true}));
    set_separated_inputs(h, 16);
    auto r = h.check_gradients(1e-2);
    INFO(r.worst);
    CHECK(r.checked > 0);
    CHECK(r.max_error < 1e-2);
  }
}

TEST_CASE("l1_distance: unequal shapes are an error naming both") {
  CHECK_THROWS_WITH_AS(NodeHarness(testing::registry(), "l1_distance", Attributes("d"), {{4096}, {4095}}, batch_of(1)),
                       doctest::Contains("[4096] (input 0) and [4095] (input 1)"), Error);
}
