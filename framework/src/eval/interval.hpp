#pragma once
// Confidence interval of a mean over repeated runs (seeds, folds), for reporting a figure
// as mean +- half width.
#include <cstdint>
#include <vector>

namespace graphrun::eval {

struct Interval {
  double mean = 0, half_width = 0;  // mean +- half_width is the 95% confidence interval
  int64_t n = 0;
};

// Normal-approximation 95% interval of the mean: 1.96 * sample standard deviation / sqrt(n);
// half_width 0 for n < 2 (and mean 0 for n = 0).
Interval mean_ci95(const std::vector<double>& values);

}  // namespace graphrun::eval
