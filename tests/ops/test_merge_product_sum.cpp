#include <doctest/doctest.h>
#include <graphrun/error.hpp>
#include <graphrun/harness.hpp>

#include "harness_options.hpp"
#include "plugins.hpp"

using namespace graphrun;
using graphrun::testing::batch_of;

TEST_CASE("product_sum: probability that two class distributions agree") {
  NodeHarness h(testing::registry(), "product_sum", Attributes("p"), {{3}, {3}}, batch_of(2));
  REQUIRE(h.output_shape() == Shape{1});
  h.set_input(0, {0.7f, 0.2f, 0.1f, /**/ 1, 0, 0});
  h.set_input(1, {0.6f, 0.3f, 0.1f, /**/ 0, 1, 0});
  h.forward();
  const auto p = h.output();
  CHECK(p[0] == doctest::Approx(0.7 * 0.6 + 0.2 * 0.3 + 0.1 * 0.1));
  CHECK(p[1] == 0.f);
  h.backward({2, -1});
  const auto da = h.input_grad(0), db = h.input_grad(1);
  const std::vector<float> expect_a{1.2f, 0.6f, 0.2f, 0, -1, 0}, expect_b{1.4f, 0.4f, 0.2f, -1, 0, 0};
  for (size_t k = 0; k < 6; ++k) {
    CHECK(da[k] == doctest::Approx(expect_a[k]));
    CHECK(db[k] == doctest::Approx(expect_b[k]));
  }
  for (const auto& impl : h.implementations()) {
    INFO(impl);
    CHECK(impl.rfind("ref", 0) != 0);
  }
}

TEST_CASE("product_sum: finite-difference gradients") {
  SUBCASE("both inputs") {
    NodeHarness h(testing::registry(), "product_sum", Attributes("p"), {{10}, {10}}, batch_of(3));
    auto r = h.check_gradients(1e-2);
    INFO(r.worst);
    CHECK(r.checked > 0);
    CHECK(r.max_error < 1e-2);
  }
  SUBCASE("only b") {
    NodeHarness h(testing::registry(), "product_sum", Attributes("p"), {{4}, {4}}, batch_of(2, {false, true}));
    auto r = h.check_gradients(1e-2);
    INFO(r.worst);
    CHECK(r.checked > 0);
    CHECK(r.max_error < 1e-2);
  }
}

TEST_CASE("product_sum: unequal shapes are an error naming both") {
  CHECK_THROWS_WITH_AS(NodeHarness(testing::registry(), "product_sum", Attributes("p"), {{10}, {9}}, batch_of(1)),
                       doctest::Contains("[10] (input 0) and [9] (input 1)"), Error);
}
