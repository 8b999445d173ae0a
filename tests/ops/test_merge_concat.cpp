#include <doctest/doctest.h>
#include <graphrun/error.hpp>
#include <graphrun/harness.hpp>

#include "harness_options.hpp"
#include "plugins.hpp"

using namespace graphrun;
using graphrun::testing::batch_of;

namespace {

void check_no_reference_kernels(const NodeHarness& h) {
  for (const auto& impl : h.implementations()) {
    INFO("implementation " << impl);
    CHECK(impl.rfind("ref", 0) != 0);
  }
}

}  // namespace

TEST_CASE("concat: joins rank-1 inputs along the features, sample by sample") {
  NodeHarness h(testing::registry(), "concat", Attributes("c"), {{3}, {2}}, batch_of(2));
  REQUIRE(h.output_shape() == Shape{5});
  h.set_input(0, {1, 2, 3, 4, 5, 6});
  h.set_input(1, {10, 20, 30, 40});
  h.forward();
  CHECK(h.output() == std::vector<float>{1, 2, 3, 10, 20, 4, 5, 6, 30, 40});
  check_no_reference_kernels(h);
}

TEST_CASE("concat: axis 0 of rank-2 inputs stacks rows; axis -1 joins columns") {
  Attributes a("c");
  a.set("axis", "0");
  NodeHarness rows(testing::registry(), "concat", a, {{1, 2}, {2, 2}}, batch_of(2));
  REQUIRE(rows.output_shape() == Shape{3, 2});
  rows.set_input(0, {1, 2, /**/ 3, 4});
  rows.set_input(1, {5, 6, 7, 8, /**/ 9, 10, 11, 12});
  rows.forward();
  CHECK(rows.output() == std::vector<float>{1, 2, 5, 6, 7, 8, /**/ 3, 4, 9, 10, 11, 12});

  NodeHarness cols(testing::registry(), "concat", Attributes("c"), {{2, 1}, {2, 2}}, batch_of(1));
  REQUIRE(cols.output_shape() == Shape{2, 3});
  cols.set_input(0, {1, 2});
  cols.set_input(1, {3, 4, 5, 6});
  cols.forward();
  CHECK(cols.output() == std::vector<float>{1, 3, 4, 2, 5, 6});
}

TEST_CASE("concat: backward hands each input its slice of the output gradient") {
  NodeHarness h(testing::registry(), "concat", Attributes("c"), {{2}, {1}, {3}}, batch_of(2));
  h.forward();
  h.backward({1, 2, 3, 4, 5, 6, /**/ 7, 8, 9, 10, 11, 12});
  CHECK(h.input_grad(0) == std::vector<float>{1, 2, 7, 8});
  CHECK(h.input_grad(1) == std::vector<float>{3, 9});
  CHECK(h.input_grad(2) == std::vector<float>{4, 5, 6, 10, 11, 12});
  check_no_reference_kernels(h);
}

TEST_CASE("concat: finite-difference gradients, three inputs and a middle axis") {
  SUBCASE("rank 1, three inputs") {
    NodeHarness h(testing::registry(), "concat", Attributes("c"), {{4}, {3}, {5}}, batch_of(3));
    auto r = h.check_gradients(1e-2);
    INFO(r.worst);
    CHECK(r.checked > 0);
    CHECK(r.max_error < 1e-2);
  }
  SUBCASE("rank 3 along axis 1, first input frozen") {
    Attributes a("c");
    a.set("axis", "1");
    NodeHarness h(testing::registry(), "concat", a, {{2, 3, 2}, {2, 1, 2}}, batch_of(2, {false, true}));
    REQUIRE(h.output_shape() == Shape{2, 4, 2});
    auto r = h.check_gradients(1e-2);
    INFO(r.worst);
    CHECK(r.checked > 0);
    CHECK(r.max_error < 1e-2);
  }
}

TEST_CASE("concat: mismatched shapes and a bad axis are clear errors") {
  CHECK_THROWS_WITH_AS(NodeHarness(testing::registry(), "concat", Attributes("c"), {{2, 3}, {4, 3}}, batch_of(1)),
                       doctest::Contains("[2, 3] (input 0) and [4, 3] (input 1)"), Error);
  CHECK_THROWS_WITH_AS(NodeHarness(testing::registry(), "concat", Attributes("c"), {{3}, {2, 1}}, batch_of(1)),
                       doctest::Contains("[3] (input 0) and [2, 1] (input 1)"), Error);
  Attributes a("c");
  a.set("axis", "1");
  CHECK_THROWS_WITH_AS(NodeHarness(testing::registry(), "concat", a, {{3}, {2}}, batch_of(1)),
                       doctest::Contains("attribute 'axis' must be in [-1, 1)"), Error);
  CHECK_THROWS_WITH_AS(NodeHarness(testing::registry(), "concat", Attributes("c"), {{3}}, batch_of(1)),
                       doctest::Contains("at least 2 inputs"), Error);
}
