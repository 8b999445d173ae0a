#include <doctest/doctest.h>
#include <graphrun/error.hpp>
#include <graphrun/harness.hpp>

#include "harness_options.hpp"
#include "plugins.hpp"

#include <cmath>

using namespace graphrun;
using graphrun::testing::batch_of;

TEST_CASE("cosine_similarity: per-sample a.b / max(|a| |b|, eps)") {
  NodeHarness h(testing::registry(), "cosine_similarity", Attributes("c"), {{2}, {2}}, batch_of(4));
  REQUIRE(h.output_shape() == Shape{1});
  h.set_input(0, {1, 0, /**/ 1, 2, /**/ 1, 0, /**/ 3, 4});
  h.set_input(1, {0, 1, /**/ 2, 4, /**/ -3, 0, /**/ 4, 3});
  h.forward();
  const auto c = h.output();
  REQUIRE(c.size() == 4);
  CHECK(c[0] == doctest::Approx(0.0));
  CHECK(c[1] == doctest::Approx(1.0));
  CHECK(c[2] == doctest::Approx(-1.0));
  CHECK(c[3] == doctest::Approx(24.0 / 25));
  for (const auto& impl : h.implementations()) CHECK_MESSAGE(impl.rfind("ref", 0) != 0, impl);
}

TEST_CASE("cosine_similarity: backward is g (b / m - c a / |a|^2) and g (a / m - c b / |b|^2)") {
  NodeHarness h(testing::registry(), "cosine_similarity", Attributes("c"), {{2}, {2}}, batch_of(1));
  h.set_input(0, {3, 4});
  h.set_input(1, {4, 3});  // |a| = |b| = 5, m = 25, c = 24 / 25
  h.forward();
  h.backward({2});
  const double c = 24.0 / 25, m = 25;
  const auto da = h.input_grad(0), db = h.input_grad(1);
  CHECK(da[0] == doctest::Approx(2 * (4 / m - c * 3 / 25)));
  CHECK(da[1] == doctest::Approx(2 * (3 / m - c * 4 / 25)));
  CHECK(db[0] == doctest::Approx(2 * (3 / m - c * 4 / 25)));
  CHECK(db[1] == doctest::Approx(2 * (4 / m - c * 3 / 25)));
}

TEST_CASE("cosine_similarity: at a = 0 the output is 0 and the gradient finite (b / eps)") {
  Attributes a("c");
  a.set("eps", "1e-4");
  NodeHarness h(testing::registry(), "cosine_similarity", a, {{3}, {3}}, batch_of(2));
  h.set_input(0, {0, 0, 0, /**/ 0, 0, 0});
  h.set_input(1, {1, -2, 0.5f, /**/ 0, 0, 0});  // sample 1: both zero
  h.forward();
  CHECK(h.output() == std::vector<float>{0, 0});
  h.backward({1, 1});
  const auto da = h.input_grad(0), db = h.input_grad(1);
  const std::vector<float> expect{1e4f, -2e4f, 0.5e4f, 0, 0, 0};
  for (size_t k = 0; k < 6; ++k) {
    CAPTURE(k);
    CHECK(std::isfinite(da[k]));
    CHECK(da[k] == doctest::Approx(expect[k]));
    CHECK(db[k] == 0.f);  // a / eps with a = 0
  }
}

TEST_CASE("cosine_similarity: finite-difference gradients") {
  SUBCASE("both inputs") {
    NodeHarness h(testing::registry(), "cosine_similarity", Attributes("c"), {{6}, {6}}, batch_of(4));
    auto r = h.check_gradients(1e-3);
    INFO(r.worst);
    CHECK(r.checked > 0);
    CHECK(r.max_error < 1e-2);
  }
  SUBCASE("only b") {
    NodeHarness h(testing::registry(), "cosine_similarity", Attributes("c"), {{5}, {5}}, batch_of(3, {false, true}));
    auto r = h.check_gradients(1e-3);
    INFO(r.worst);
    CHECK(r.checked > 0);
    CHECK(r.max_error < 1e-2);
  }
}

TEST_CASE("cosine_similarity: bad eps and bad shapes are clear errors") {
  for (const char* eps : {"0", "-1", "nan"}) {
    Attributes a("c");
    a.set("eps", eps);
    CAPTURE(eps);
    CHECK_THROWS_WITH_AS(NodeHarness(testing::registry(), "cosine_similarity", a, {{2}, {2}}, batch_of(1)),
                         doctest::Contains("attribute 'eps' must be a positive number"), Error);
  }
  const Attributes plain("c");
  CHECK_THROWS_WITH_AS(NodeHarness(testing::registry(), "cosine_similarity", plain, {{4}, {5}}, batch_of(1)),
                       doctest::Contains("[4] (input 0) and [5] (input 1)"), Error);
  CHECK_THROWS_WITH_AS(NodeHarness(testing::registry(), "cosine_similarity", plain, {{2, 3}, {2, 3}}, batch_of(1)),
                       doctest::Contains("rank-1 inputs per sample"), Error);
}
