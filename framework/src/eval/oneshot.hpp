#pragma once
// N-way K-shot accuracy: each query goes to the class whose supports it matches best,
// through the graph (pair scores) or by distance to the mean support embedding.
#include "data/oneshot_runs.hpp"
#include "eval/interval.hpp"
#include "eval/scoring.hpp"

#include <string>
#include <vector>

namespace graphrun::eval {

struct OneShotResult {
  int64_t tasks = 0, queries = 0, ways = 0, shots = 0;
  double accuracy = 0;           // over all queries
  Interval interval;             // of the per-task accuracies: 95% confidence
  std::vector<double> per_task;
};

// A pair model scores every (query, support) pair in a few large batches and a class takes
// the mean score of its supports; an embedding model compares each query with each
// class's mean support embedding (its prototype). Ties go to the first class.
OneShotResult evaluate_tasks(Scorer& scorer, const data::ImageSet& images, const std::vector<data::OneShotTask>& tasks);

std::string report(const OneShotResult& r, const std::string& title);
std::string json_fields(const OneShotResult& r, const std::string& prefix);

}  // namespace graphrun::eval
