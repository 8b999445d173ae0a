// 95% intervals of a mean against hand-worked values.
#include <doctest/doctest.h>

#include "eval/interval.hpp"

#include <cmath>

using namespace graphrun::eval;

TEST_CASE("mean_ci95 of two values") {
  // {1, 3}: mean 2; squared deviations 1 + 1 = 2, sample variance 2 / (2 - 1) = 2, sd sqrt(2);
  // half width 1.96 * sqrt(2) / sqrt(2) = 1.96.
  const Interval r = mean_ci95({1, 3});
  CHECK(r.n == 2);
  CHECK(r.mean == doctest::Approx(2.0));
  CHECK(r.half_width == doctest::Approx(1.96));
}

TEST_CASE("mean_ci95 of five values") {
  // {10, 12, 14, 16, 18}: mean 14; squared deviations 16 + 4 + 0 + 4 + 16 = 40, sample variance
  // 40 / 4 = 10; half width 1.96 * sqrt(10) / sqrt(5) = 1.96 * sqrt(2) = 2.7718585...
  const Interval r = mean_ci95({14, 10, 18, 12, 16});
  CHECK(r.n == 5);
  CHECK(r.mean == doctest::Approx(14.0));
  CHECK(r.half_width == doctest::Approx(2.7718585822));
}

TEST_CASE("mean_ci95 keeps its precision for large values close together") {
  // Same spread as {1, 3} (half width 1.96) shifted by 1e9: a one-pass sum of squares would
  // lose it to cancellation.
  const Interval r = mean_ci95({1e9 + 1, 1e9 + 3});
  CHECK(r.mean == doctest::Approx(1e9 + 2).epsilon(1e-15));
  CHECK(r.half_width == doctest::Approx(1.96));
}

TEST_CASE("mean_ci95 with fewer than two values has no width") {
  const Interval one = mean_ci95({0.75});
  CHECK(one.n == 1);
  CHECK(one.mean == 0.75);
  CHECK(one.half_width == 0.0);
  const Interval none = mean_ci95({});
  CHECK(none.n == 0);
  CHECK(none.mean == 0.0);
  CHECK(none.half_width == 0.0);
}
