#include "eval/verification.hpp"

#include <graphrun/error.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <utility>

namespace graphrun::eval {

namespace {

// Cumulative counts of pairs predicted "same" at one ROC point.
struct Counts {
  int64_t tp = 0, fp = 0;
};

std::string number(double x, const char* format = "%.10g") {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, x);
  return buffer;
}

std::string json_number(double x) { return std::isfinite(x) ? number(x) : "null"; }

}  // namespace

Verification verify(const std::vector<float>& scores, const std::vector<uint8_t>& same, bool higher_is_same) {
  if (scores.size() != same.size())
    throw Error("verification: " + std::to_string(scores.size()) + " scores but " + std::to_string(same.size()) +
                " same/different labels");
  Verification v;
  v.higher_is_same = higher_is_same;
  // Distances are negated so that one walk from the highest key down serves both kinds;
  // thresholds are negated back when reported.
  std::vector<std::pair<float, bool>> keyed(scores.size());
  for (size_t i = 0; i < scores.size(); ++i) {
    if (!std::isfinite(scores[i]))
      throw Error("verification: score " + std::to_string(i) + " is not finite (" + number(scores[i]) + ")");
    keyed[i] = {higher_is_same ? scores[i] : -scores[i], same[i] != 0};
    (same[i] ? v.same : v.different)++;
  }
  if (v.same == 0 || v.different == 0)
    throw Error("verification needs both kinds of pair: got " + std::to_string(v.same) + " same and " +
                std::to_string(v.different) + " different pairs");
  std::sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) { return a.first > b.first; });

  const double S = double(v.same), D = double(v.different), n = S + D;
  const double sign = higher_is_same ? 1.0 : -1.0;
  std::vector<Counts> counts{Counts{}};
  v.roc.push_back({sign * std::numeric_limits<double>::infinity(), 0.0, 0.0});
  // Pairs sharing a key switch together: one ROC point after each run of equal keys.
  for (size_t i = 0; i < keyed.size();) {
    Counts c = counts.back();
    const float key = keyed[i].first;
    for (; i < keyed.size() && keyed[i].first == key; ++i) (keyed[i].second ? c.tp : c.fp)++;
    counts.push_back(c);
    v.roc.push_back({sign * double(key), double(c.fp) / D, double(c.tp) / S});
  }

  // Trapezoids over the ROC give the Mann-Whitney statistic, ties counted half; summed in
  // integers (twice the area times S*D) so the result is exact.
  int64_t twice_area = 0;
  for (size_t k = 1; k < counts.size(); ++k)
    twice_area += (counts[k].fp - counts[k - 1].fp) * (counts[k].tp + counts[k - 1].tp);
  v.auc = double(twice_area) / (2.0 * S * D);

  // FPR - FNR has the sign of fp*S - fn*D, which strictly increases along the ROC (every point
  // adds at least one pair) from -S*D to +S*D: exactly one crossing, found in exact integers.
  auto excess = [&](const Counts& c) { return c.fp * v.same - (v.same - c.tp) * v.different; };
  for (size_t k = 1; k < counts.size(); ++k) {
    const int64_t after = excess(counts[k]);
    if (after < 0) continue;
    const int64_t before = excess(counts[k - 1]);
    const double t = double(-before) / double(after - before);  // 0 at point k-1, 1 at point k
    const RocPoint& a = v.roc[k - 1];
    const RocPoint& b = v.roc[k];
    v.eer = a.fpr + t * (b.fpr - a.fpr);
    v.eer_threshold = std::isfinite(a.threshold) ? a.threshold + t * (b.threshold - a.threshold) : b.threshold;
    break;
  }

  v.best_accuracy = -1;
  for (size_t k = 0; k < counts.size(); ++k) {
    const double accuracy = double(counts[k].tp + (v.different - counts[k].fp)) / n;
    if (accuracy > v.best_accuracy) {
      v.best_accuracy = accuracy;
      v.best_threshold = v.roc[k].threshold;
    }
    if (v.roc[k].fpr <= 1e-2) v.tar_at_far_1e2 = std::max(v.tar_at_far_1e2, v.roc[k].tpr);
    if (v.roc[k].fpr <= 1e-3) v.tar_at_far_1e3 = std::max(v.tar_at_far_1e3, v.roc[k].tpr);
  }
  return v;
}

void write_roc_csv(const std::string& path, const Verification& v) {
  std::ofstream out(path);
  if (!out) throw Error("cannot open " + path + " to write the ROC curve");
  out << "threshold,fpr,tpr\n";
  // Thresholds are float scores: 9 significant digits give them back exactly.
  for (const RocPoint& p : v.roc)
    out << number(p.threshold, "%.9g") << ',' << number(p.fpr) << ',' << number(p.tpr) << '\n';
  out.close();
  if (!out) throw Error("cannot write the ROC curve to " + path);
}

std::string json_fields(const Verification& v) {
  return "\"auc\": " + json_number(v.auc) + ", \"eer\": " + json_number(v.eer) +
         ", \"eer_threshold\": " + json_number(v.eer_threshold) + ", \"best_accuracy\": " +
         json_number(v.best_accuracy) + ", \"best_threshold\": " + json_number(v.best_threshold) +
         ", \"tar_at_far_1e2\": " + json_number(v.tar_at_far_1e2) + ", \"tar_at_far_1e3\": " +
         json_number(v.tar_at_far_1e3) + ", \"same_pairs\": " + std::to_string(v.same) +
         ", \"different_pairs\": " + std::to_string(v.different) +
         ", \"higher_is_same\": " + (v.higher_is_same ? "true" : "false");
}

std::string report(const Verification& v) {
  const std::string rule = v.higher_is_same ? "score >= threshold" : "distance <= threshold";
  std::string s = "verification: " + std::to_string(v.same) + " same and " + std::to_string(v.different) +
                  " different pairs (\"same\" when " + rule + ")\n";
  s += "  AUC             " + number(v.auc, "%.4f") + "\n";
  s += "  EER             " + number(v.eer, "%.4f") + " at threshold " + number(v.eer_threshold, "%.6g") + "\n";
  s += "  best accuracy   " + number(v.best_accuracy, "%.4f") + " at threshold " +
       number(v.best_threshold, "%.6g") + "\n";
  s += "  TAR @ FAR 1e-2  " + number(v.tar_at_far_1e2, "%.4f") + "\n";
  s += "  TAR @ FAR 1e-3  " + number(v.tar_at_far_1e3, "%.4f") + "\n";
  return s;
}

}  // namespace graphrun::eval
