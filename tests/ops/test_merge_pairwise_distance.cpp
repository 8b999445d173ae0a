// pairwise_distance: a batch-level op. Its output's per-sample shape is [N] (kBatchDim),
// so the harness plans it for each batch size as the executor does.
#include <doctest/doctest.h>
#include <graphrun/error.hpp>
#include <graphrun/harness.hpp>

#include "harness_options.hpp"
#include "plugins.hpp"

#include <algorithm>
#include <cmath>
#include <string>

using namespace graphrun;
using graphrun::testing::batch_of;

namespace {

Attributes metric(const std::string& m, const std::string& eps = "") {
  Attributes a("d");
  a.set("metric", m);
  if (!eps.empty()) a.set("eps", eps);
  return a;
}

// The distances computed directly from the rows, in double.
std::vector<double> reference(const std::string& m, const std::vector<float>& x, const std::vector<float>& y,
                              int64_t n, int64_t d, double eps = 1e-8) {
  std::vector<double> out(size_t(n * n));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0, xx = 0, yy = 0, xy = 0;
      for (int64_t k = 0; k < d; ++k) {
        const double a = x[size_t(i * d + k)], b = y[size_t(j * d + k)];
        s += (a - b) * (a - b), xx += a * a, yy += b * b, xy += a * b;
      }
      out[size_t(i * n + j)] = m == "sqeuclidean" ? s
                               : m == "euclidean" ? std::sqrt(std::max(s, eps))
                                                  : 1 - xy / std::max(std::sqrt(xx * yy), eps);
    }
  return out;
}

}  // namespace

TEST_CASE("pairwise_distance: declares a batch-dependent shape; the harness plans [N] per batch size") {
  const OpInfo* info = testing::registry().find("pairwise_distance");
  REQUIRE(info != nullptr);
  CHECK(info->batch_dependent_shape);
  CHECK(info->batch_mixing == BatchMixing::always);
  for (int64_t n : {1, 3, 5}) {
    CAPTURE(n);
    NodeHarness h(testing::registry(), "pairwise_distance", Attributes("d"), {{4}, {4}}, batch_of(n));
    CHECK(h.inferred_shape() == Shape{kBatchDim});
    CHECK(h.output_shape() == Shape{n});
    h.forward();
    const auto out = h.output();
    REQUIRE(out.size() == size_t(n * n));
    const auto want = reference("euclidean", h.input(0), h.input(1), n, 4);
    for (size_t k = 0; k < out.size(); ++k) CHECK(out[k] == doctest::Approx(want[k]).epsilon(1e-5));
  }
}

TEST_CASE("pairwise_distance: every metric against the distances computed directly") {
  for (const char* m : {"euclidean", "sqeuclidean", "cosine"}) {
    CAPTURE(m);
    NodeHarness h(testing::registry(), "pairwise_distance", metric(m), {{3}, {3}}, batch_of(4));
    h.forward();
    const auto out = h.output();
    const auto want = reference(m, h.input(0), h.input(1), 4, 3);
    REQUIRE(out.size() == want.size());
    for (size_t k = 0; k < out.size(); ++k) CHECK(out[k] == doctest::Approx(want[k]).epsilon(1e-5));
    for (const auto& impl : h.implementations()) CHECK_MESSAGE(impl.rfind("ref", 0) != 0, impl);
  }
}

TEST_CASE("pairwise_distance: row i is X_i against every Y_j") {
  NodeHarness h(testing::registry(), "pairwise_distance", metric("sqeuclidean"), {{2}, {2}}, batch_of(2));
  h.set_input(0, {0, 0, /**/ 1, 1});
  h.set_input(1, {3, 4, /**/ 1, 0});
  h.forward();
  CHECK(h.output() == std::vector<float>{25, 1, /**/ 13, 1});
}

TEST_CASE("pairwise_distance: finite-difference gradients") {
  for (const char* m : {"euclidean", "sqeuclidean", "cosine"}) {
    CAPTURE(m);
    SUBCASE("both inputs") {
      NodeHarness h(testing::registry(), "pairwise_distance", metric(m), {{5}, {5}}, batch_of(4));
      auto r = h.check_gradients(1e-3);
      INFO(r.worst);
      CHECK(r.checked > 0);
      CHECK(r.max_error < 1e-2);
    }
    SUBCASE("only X, another batch size") {
      NodeHarness h(testing::registry(), "pairwise_distance", metric(m), {{3}, {3}}, batch_of(6, {true, false}));
      auto r = h.check_gradients(1e-3);
      INFO(r.worst);
      CHECK(r.checked > 0);
      CHECK(r.max_error < 1e-2);
    }
  }
}

TEST_CASE("pairwise_distance: gradients stay finite where the clamps hold") {
  SUBCASE("euclidean at X == Y: sqrt(eps) on the diagonal, no gradient from it") {
    NodeHarness h(testing::registry(), "pairwise_distance", metric("euclidean", "1e-6"), {{2}, {2}}, batch_of(2));
    h.set_input(0, {1, 2, /**/ -1, 0});
    h.set_input(1, {1, 2, /**/ -1, 0});
    h.forward();
    const auto out = h.output();
    CHECK(out[0] == doctest::Approx(1e-3));
    CHECK(out[3] == doctest::Approx(1e-3));
    h.backward({1, 0, 0, 1});  // only the diagonal
    for (size_t i : {0, 1})
      for (float g : h.input_grad(i)) CHECK(g == 0.f);
  }
  SUBCASE("cosine with a zero row: finite") {
    NodeHarness h(testing::registry(), "pairwise_distance", metric("cosine", "1e-4"), {{2}, {2}}, batch_of(2));
    h.set_input(0, {0, 0, /**/ 1, 0});
    h.set_input(1, {3, 4, /**/ 0, 1});
    h.forward();
    CHECK(h.output() == std::vector<float>{1, 1, /**/ 0.4f, 1});
    h.backward({1, 1, 1, 1});
    const auto dx = h.input_grad(0);
    CHECK(dx[0] == doctest::Approx(-(3 + 0) / 1e-4));  // -(Y_0 + Y_1) / eps
    CHECK(dx[1] == doctest::Approx(-(4 + 1) / 1e-4));
    for (size_t i : {0, 1})
      for (float g : h.input_grad(i)) CHECK(std::isfinite(g));
  }
}

TEST_CASE("pairwise_distance: permuting X permutes the rows, permuting Y the columns") {
  const int64_t n = 3, d = 4;
  NodeHarness h(testing::registry(), "pairwise_distance", metric("cosine"), {{d}, {d}}, batch_of(n));
  const auto x = h.input(0), y = h.input(1);
  h.forward();
  const auto base = h.output();
  auto rotated = [&](const std::vector<float>& v) {  // row i <- row (i + 1) % n
    std::vector<float> r(v.size());
    for (int64_t i = 0; i < n; ++i) std::copy_n(v.begin() + ((i + 1) % n) * d, d, r.begin() + i * d);
    return r;
  };
  h.set_input(0, rotated(x));
  h.forward();
  auto out = h.output();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) CHECK(out[size_t(i * n + j)] == doctest::Approx(base[size_t(((i + 1) % n) * n + j)]));
  h.set_input(0, x);
  h.set_input(1, rotated(y));
  h.forward();
  out = h.output();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) CHECK(out[size_t(i * n + j)] == doctest::Approx(base[size_t(i * n + (j + 1) % n)]));
}

TEST_CASE("pairwise_distance: bad attributes and shapes are clear errors") {
  CHECK_THROWS_WITH_AS(NodeHarness(testing::registry(), "pairwise_distance", metric("manhattan"), {{2}, {2}}, batch_of(2)),
                       doctest::Contains("euclidean, sqeuclidean, cosine"), Error);
  CHECK_THROWS_WITH_AS(NodeHarness(testing::registry(), "pairwise_distance", metric("cosine", "0"), {{2}, {2}}, batch_of(2)),
                       doctest::Contains("attribute 'eps' must be a positive number"), Error);
  CHECK_THROWS_WITH_AS(NodeHarness(testing::registry(), "pairwise_distance", Attributes("d"), {{3}, {4}}, batch_of(2)),
                       doctest::Contains("[3] (input 0) and [4] (input 1)"), Error);
  CHECK_THROWS_WITH_AS(NodeHarness(testing::registry(), "pairwise_distance", Attributes("d"), {{2, 2}, {2, 2}}, batch_of(2)),
                       doctest::Contains("rank-1 inputs per sample"), Error);
}
