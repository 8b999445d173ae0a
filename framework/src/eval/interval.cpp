#include "eval/interval.hpp"

#include <cmath>

namespace graphrun::eval {

Interval mean_ci95(const std::vector<double>& values) {
  Interval r;
  r.n = static_cast<int64_t>(values.size());
  if (r.n == 0) return r;
  double sum = 0;
  for (double x : values) sum += x;
  r.mean = sum / double(r.n);
  if (r.n < 2) return r;
  // Two passes (mean, then squared deviations) rather than sum of squares: no cancellation
  // when the values are large and close together.
  double squares = 0;
  for (double x : values) squares += (x - r.mean) * (x - r.mean);
  const double sd = std::sqrt(squares / double(r.n - 1));
  r.half_width = 1.96 * sd / std::sqrt(double(r.n));
  return r;
}

}  // namespace graphrun::eval
