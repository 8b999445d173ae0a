#include <doctest/doctest.h>
#include <graphrun/error.hpp>
#include <graphrun/harness.hpp>

#include "harness_options.hpp"
#include "plugins.hpp"

#include <cmath>

using namespace graphrun;
using graphrun::testing::batch_of;

TEST_CASE("euclidean_distance: per-sample distance, clamped at sqrt(eps)") {
  NodeHarness h(testing::registry(), "euclidean_distance", Attributes("d"), {{2}, {2}}, batch_of(3));
  REQUIRE(h.output_shape() == Shape{1});
  h.set_input(0, {3, 0, /**/ 1, 1, /**/ 0.5f, -2});
  h.set_input(1, {0, 4, /**/ 1, 1, /**/ 0.5f, -2});
  h.forward();
  const auto d = h.output();
  REQUIRE(d.size() == 3);
  CHECK(d[0] == doctest::Approx(5.0));
  CHECK(d[1] == doctest::Approx(std::sqrt(1e-7)).epsilon(1e-6));  // a == b: sqrt(eps)
  CHECK(d[2] == doctest::Approx(std::sqrt(1e-7)).epsilon(1e-6));
  for (const auto& impl : h.implementations()) {
    INFO(impl);
    CHECK(impl.rfind("ref", 0) != 0);
  }
}

TEST_CASE("euclidean_distance: backward is g (a - b) / d") {
  NodeHarness h(testing::registry(), "euclidean_distance", Attributes("d"), {{3}, {3}}, batch_of(2));
  h.set_input(0, {1, 2, 2, /**/ 0, 0, 1});
  h.set_input(1, {0, 0, 0, /**/ 0, 0, -1});  // distances 3 and 2
  h.forward();
  h.backward({6, -4});
  const auto da = h.input_grad(0), db = h.input_grad(1);
  const std::vector<float> expect{2, 4, 4, 0, 0, -4};  // 6 * (1,2,2) / 3 ; -4 * (0,0,2) / 2
  for (size_t k = 0; k < expect.size(); ++k) {
    CHECK(da[k] == doctest::Approx(expect[k]));
    CHECK(db[k] == doctest::Approx(-expect[k]));
  }
}

TEST_CASE("euclidean_distance: the gradient is finite and zero where the sum is within eps") {
  NodeHarness h(testing::registry(), "euclidean_distance", Attributes("d"), {{4}, {4}}, batch_of(3));
  // sample 0: a == b exactly; sample 1: sum of squares 4e-10 < eps; sample 2: far apart
  h.set_input(0, {0.3f, -0.2f, 0.1f, 0.7f, /**/ 0.5f, 0.5f, 0.5f, 0.5f, /**/ 1, 0, 0, 0});
  h.set_input(1, {0.3f, -0.2f, 0.1f, 0.7f, /**/ 0.50001f, 0.50001f, 0.50001f, 0.50001f, /**/ 0, 0, 0, 0});
  h.forward();
  h.backward({1, 1, 1});
  for (size_t i : {0, 1}) {
    const auto g = h.input_grad(i);
    for (size_t k = 0; k < 8; ++k) {
      CAPTURE(i);
      CAPTURE(k);
      CHECK(std::isfinite(g[k]));
      CHECK(g[k] == 0.f);
    }
    CHECK(g[8] == doctest::Approx(i == 0 ? 1.0 : -1.0));
  }
}

TEST_CASE("euclidean_distance: finite-difference gradients") {
  SUBCASE("both inputs") {
    NodeHarness h(testing::registry(), "euclidean_distance", Attributes("d"), {{6}, {6}}, batch_of(4));
    auto r = h.check_gradients(1e-3);
    INFO(r.worst);
    CHECK(r.checked > 0);
    CHECK(r.max_error < 1e-2);
  }
  SUBCASE("only a, larger eps") {
    Attributes a("d");
    a.set("eps", "1e-4");
    NodeHarness h(testing::registry(), "euclidean_distance", a, {{5}, {5}}, batch_of(3, {true, false}));
    auto r = h.check_gradients(1e-3);
    INFO(r.worst);
    CHECK(r.checked > 0);
    CHECK(r.max_error < 1e-2);
  }
}

TEST_CASE("euclidean_distance: bad eps and bad shapes are clear errors") {
  for (const char* eps : {"0", "-1e-7", "nan"}) {
    Attributes a("d");
    a.set("eps", eps);
    CAPTURE(eps);
    CHECK_THROWS_WITH_AS(NodeHarness(testing::registry(), "euclidean_distance", a, {{2}, {2}}, batch_of(1)),
                         doctest::Contains("attribute 'eps' must be a positive number"), Error);
  }
  const Attributes plain("d");
  CHECK_THROWS_WITH_AS(NodeHarness(testing::registry(), "euclidean_distance", plain, {{10}, {12}}, batch_of(1)),
                       doctest::Contains("[10] (input 0) and [12] (input 1)"), Error);
  CHECK_THROWS_WITH_AS(NodeHarness(testing::registry(), "euclidean_distance", plain, {{2, 5}, {2, 5}}, batch_of(1)),
                       doctest::Contains("rank-1 inputs per sample"), Error);
}
