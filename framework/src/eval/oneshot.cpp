#include "eval/oneshot.hpp"

#include <graphrun/error.hpp>

#include <cstdio>
#include <limits>
#include <map>

namespace graphrun::eval {
namespace {

// class_scores[t][q][c]: how well query q of task t matches class c; higher is better.
using Scores = std::vector<std::vector<std::vector<double>>>;

Scores by_embedding(Scorer& scorer, const data::ImageSet& images, const std::vector<data::OneShotTask>& tasks) {
  std::map<int64_t, size_t> row;
  std::vector<int64_t> wanted;
  auto want = [&](int64_t i) {
    if (row.emplace(i, wanted.size()).second) wanted.push_back(i);
  };
  for (const auto& t : tasks) {
    for (const auto& s : t.supports)
      for (int64_t i : s) want(i);
    for (int64_t q : t.queries) want(q);
  }
  const std::vector<float> e = scorer.embeddings(images, wanted);
  const int64_t d = scorer.dim();
  Scores out;
  std::vector<float> prototype(static_cast<size_t>(d));
  for (const auto& t : tasks) {
    std::vector<std::vector<float>> prototypes;
    for (const auto& s : t.supports) {
      std::fill(prototype.begin(), prototype.end(), 0.f);
      for (int64_t i : s)
        for (int64_t k = 0; k < d; ++k) prototype[size_t(k)] += e[row[i] * size_t(d) + size_t(k)] / float(s.size());
      prototypes.push_back(prototype);
    }
    auto& task = out.emplace_back();
    for (int64_t q : t.queries) {
      auto& scores = task.emplace_back();
      for (const auto& p : prototypes) scores.push_back(-scorer.embedding_distance(&e[row[q] * size_t(d)], p.data()));
    }
  }
  return out;
}

Scores by_pairs(Scorer& scorer, const data::ImageSet& images, const std::vector<data::OneShotTask>& tasks) {
  std::vector<std::pair<int64_t, int64_t>> pairs;
  for (const auto& t : tasks)
    for (int64_t q : t.queries)
      for (const auto& s : t.supports)
        for (int64_t i : s) pairs.emplace_back(q, i);
  const std::vector<float> raw = scorer.pair_scores(images, pairs);
  const double sign = scorer.higher_is_same() ? 1 : -1;
  Scores out;
  size_t k = 0;
  for (const auto& t : tasks) {
    auto& task = out.emplace_back();
    for (size_t q = 0; q < t.queries.size(); ++q) {
      auto& scores = task.emplace_back();
      for (const auto& s : t.supports) {
        double sum = 0;
        for (size_t j = 0; j < s.size(); ++j) sum += raw[k++];
        scores.push_back(sign * sum / double(s.size()));
      }
    }
  }
  return out;
}

}  // namespace

OneShotResult evaluate_tasks(Scorer& scorer, const data::ImageSet& images, const std::vector<data::OneShotTask>& tasks) {
  if (tasks.empty()) throw Error("one-shot evaluation: no tasks");
  const Scores scores = scorer.has_embedding() ? by_embedding(scorer, images, tasks) : by_pairs(scorer, images, tasks);
  OneShotResult r;
  r.tasks = int64_t(tasks.size());
  r.ways = int64_t(tasks.front().supports.size());
  r.shots = int64_t(tasks.front().supports.front().size());
  int64_t correct = 0;
  for (size_t t = 0; t < tasks.size(); ++t) {
    int64_t right = 0;
    for (size_t q = 0; q < tasks[t].queries.size(); ++q) {
      const auto& s = scores[t][q];
      size_t best = 0;
      for (size_t c = 1; c < s.size(); ++c)
        if (s[c] > s[best]) best = c;
      right += int64_t(best) == tasks[t].answers[q];
    }
    correct += right;
    r.queries += int64_t(tasks[t].queries.size());
    r.per_task.push_back(double(right) / double(tasks[t].queries.size()));
  }
  r.accuracy = double(correct) / double(r.queries);
  r.interval = mean_ci95(r.per_task);
  return r;
}

std::string report(const OneShotResult& r, const std::string& title) {
  char line[256];
  std::snprintf(line, sizeof line, "  %s: %lld-way %lld-shot accuracy %.2f%% +- %.2f (95%% interval over %lld tasks, %lld queries)\n",
                title.c_str(), (long long)r.ways, (long long)r.shots, 100 * r.accuracy, 100 * r.interval.half_width,
                (long long)r.tasks, (long long)r.queries);
  return line;
}

std::string json_fields(const OneShotResult& r, const std::string& prefix) {
  char text[512];
  std::snprintf(text, sizeof text,
                "\"%s_accuracy\": %.6f, \"%s_ci95\": %.6f, \"%s_ways\": %lld, \"%s_shots\": %lld, \"%s_tasks\": %lld, \"%s_queries\": %lld",
                prefix.c_str(), r.accuracy, prefix.c_str(), r.interval.half_width, prefix.c_str(), (long long)r.ways, prefix.c_str(),
                (long long)r.shots, prefix.c_str(), (long long)r.tasks, prefix.c_str(), (long long)r.queries);
  return text;
}

}  // namespace graphrun::eval
