#pragma once
// Verification figures for a pair-matching graph: the ROC over every threshold, its area,
// the equal error rate, the best-accuracy threshold and the true-accept rate at fixed
// false-accept rates, as face-verification benchmarks report them.
#include <cstdint>
#include <string>
#include <vector>

namespace graphrun::eval {

struct RocPoint {
  double threshold, fpr, tpr;
};

struct Verification {
  int64_t same = 0, different = 0;  // counts of each kind of pair
  bool higher_is_same = true;       // similarity (true) or distance (false) scores
  double auc = 0;                   // area under the ROC (ties counted half, i.e. the Mann-Whitney statistic)
  // Equal error rate (FAR = FRR), interpolated linearly along the ROC segment where FPR crosses
  // FNR = 1 - TPR; eer_threshold is interpolated the same way between the segment's two
  // thresholds (when the segment starts at the (0,0) point, whose threshold is infinite, it is
  // the threshold of the segment's other end).
  double eer = 0, eer_threshold = 0;
  // Threshold maximising accuracy on these pairs, and that accuracy. Ties go to the threshold
  // that predicts "same" for the fewest pairs, so it is the first ROC point's infinite
  // threshold when calling every pair "different" is at least as accurate as any other.
  double best_accuracy = 0, best_threshold = 0;
  double tar_at_far_1e2 = 0, tar_at_far_1e3 = 0;  // largest ROC-point TPR with FPR <= 1e-2 / 1e-3
  // One point per distinct threshold, from (0,0) to (1,1). The first point's threshold is
  // +infinity for similarities (-infinity for distances): no pair is predicted "same".
  std::vector<RocPoint> roc;
};

// scores[i] is the graph's output for pair i, same[i] != 0 when pair i is a same pair.
// A pair is predicted "same" when score >= threshold (higher_is_same) or score <= threshold (a distance).
// Thresholds are reported in the scores' own units. Throws Error when either kind of pair is absent,
// when the sizes differ, or when a score is not finite (naming its index).
Verification verify(const std::vector<float>& scores, const std::vector<uint8_t>& same, bool higher_is_same);

// Writes "threshold,fpr,tpr" then one line per ROC point; throws Error naming the path if it cannot write.
void write_roc_csv(const std::string& path, const Verification& v);

// The figures as JSON object members (no braces): "\"auc\": 0.93, \"eer\": ..." for test.json.
// An infinite threshold is written as null.
std::string json_fields(const Verification& v);

// A short human-readable block for the terminal (AUC, EER and its threshold, best-accuracy
// threshold and accuracy, TAR@FAR).
std::string report(const Verification& v);

}  // namespace graphrun::eval
