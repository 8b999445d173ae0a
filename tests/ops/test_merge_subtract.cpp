#include <doctest/doctest.h>
#include <graphrun/error.hpp>
#include <graphrun/harness.hpp>

#include "harness_options.hpp"
#include "plugins.hpp"

using namespace graphrun;
using graphrun::testing::batch_of;

TEST_CASE("subtract: a - b element-wise") {
  NodeHarness h(testing::registry(), "subtract", Attributes("d"), {{3}, {3}}, batch_of(2));
  REQUIRE(h.output_shape() == Shape{3});
  h.set_input(0, {1, 2, 3, 4, 5, 6});
  h.set_input(1, {0.5f, 4, -1, 4, 0, 10});
  h.forward();
  CHECK(h.output() == std::vector<float>{0.5f, -2, 4, 0, 5, -4});
  h.backward({1, 2, 3, 4, 5, 6});
  CHECK(h.input_grad(0) == std::vector<float>{1, 2, 3, 4, 5, 6});
  CHECK(h.input_grad(1) == std::vector<float>{-1, -2, -3, -4, -5, -6});
  for (const auto& impl : h.implementations()) CHECK(impl.rfind("ref", 0) != 0);
}

TEST_CASE("subtract: finite-difference gradients, any equal rank") {
  SUBCASE("rank 1") {
    NodeHarness h(testing::registry(), "subtract", Attributes("d"), {{7}, {7}}, batch_of(3));
    auto r = h.check_gradients(1e-2);
    INFO(r.worst);
    CHECK(r.checked > 0);
    CHECK(r.max_error < 1e-2);
  }
  SUBCASE("rank 3, only b needs a gradient") {
    NodeHarness h(testing::registry(), "subtract", Attributes("d"), {{2, 3, 3}, {2, 3, 3}}, batch_of(2, {false, true}));
    REQUIRE(h.output_shape() == Shape{2, 3, 3});
    auto r = h.check_gradients(1e-2);
    INFO(r.worst);
    CHECK(r.checked > 0);
    CHECK(r.max_error < 1e-2);
  }
}

TEST_CASE("subtract: unequal shapes are an error naming both") {
  CHECK_THROWS_WITH_AS(NodeHarness(testing::registry(), "subtract", Attributes("d"), {{128}, {64}}, batch_of(1)),
                       doctest::Contains("[128] (input 0) and [64] (input 1)"), Error);
  CHECK_THROWS_WITH_AS(NodeHarness(testing::registry(), "subtract", Attributes("d"), {{4, 2}, {8}}, batch_of(1)),
                       doctest::Contains("[4, 2] (input 0) and [8] (input 1)"), Error);
}
