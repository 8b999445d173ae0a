// Verification figures against values worked out by hand on small score lists. Scores are
// small integers so every threshold is exact in float. Notation: S same pairs, D different
// pairs; an ROC point (t, FP/D, TP/S) predicts "same" for every score >= t.
#include <doctest/doctest.h>

#include "eval/verification.hpp"
#include <graphrun/error.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

using namespace graphrun;
using namespace graphrun::eval;

namespace {

const double inf = std::numeric_limits<double>::infinity();

void check_roc(const Verification& v, const std::vector<RocPoint>& expected) {
  REQUIRE(v.roc.size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    INFO("ROC point " << i);
    CHECK(v.roc[i].threshold == expected[i].threshold);
    CHECK(v.roc[i].fpr == doctest::Approx(expected[i].fpr));
    CHECK(v.roc[i].tpr == doctest::Approx(expected[i].tpr));
  }
}

// The tie case, interleaved so that verify has to sort: same {3, 2, 2}, different {2, 1}.
const std::vector<float> tie_scores{2, 3, 1, 2, 2};
const std::vector<uint8_t> tie_same{0, 1, 0, 1, 1};

}  // namespace

TEST_CASE("perfect separation: AUC 1, EER 0") {
  // same {9, 8}, different {2, 1}; S = D = 2.
  // ROC: (inf,0,0) (9,0,.5) (8,0,1) (2,.5,1) (1,1,1).
  // AUC: only the last two segments move in FPR: .5*(1+1)/2 + .5*(1+1)/2 = 1.
  // EER: at t = 8, FPR = 0 and FNR = 1 - 1 = 0: EER 0 exactly at threshold 8.
  // Accuracy (TP + TN)/4: .5 .75 1 .75 .5 -> best 1 at 8. TAR at FPR <= 1e-2 and 1e-3: 1.
  const Verification v = verify({9, 2, 8, 1}, {1, 0, 1, 0}, true);
  CHECK(v.same == 2);
  CHECK(v.different == 2);
  check_roc(v, {{inf, 0, 0}, {9, 0, .5}, {8, 0, 1}, {2, .5, 1}, {1, 1, 1}});
  CHECK(v.auc == 1.0);
  CHECK(v.eer == 0.0);
  CHECK(v.eer_threshold == 8.0);
  CHECK(v.best_accuracy == 1.0);
  CHECK(v.best_threshold == 8.0);
  CHECK(v.tar_at_far_1e2 == 1.0);
  CHECK(v.tar_at_far_1e3 == 1.0);
}

TEST_CASE("fully inverted scores: AUC 0, EER 1") {
  // same {1, 2}, different {8, 9}.
  // ROC: (inf,0,0) (9,.5,0) (8,1,0) (2,1,.5) (1,1,1); the FPR moves only while TPR = 0: AUC 0.
  // At t = 8 FPR = 1 and FNR = 1 - 0 = 1: EER 1 at threshold 8.
  // Accuracy: .5 .25 0 .25 .5; the tie goes to the first point, threshold +inf ("all different").
  // No point but the first has FPR <= 1e-2: TAR 0.
  const Verification v = verify({1, 8, 2, 9}, {1, 0, 1, 0}, true);
  check_roc(v, {{inf, 0, 0}, {9, .5, 0}, {8, 1, 0}, {2, 1, .5}, {1, 1, 1}});
  CHECK(v.auc == 0.0);
  CHECK(v.eer == 1.0);
  CHECK(v.eer_threshold == 8.0);
  CHECK(v.best_accuracy == 0.5);
  CHECK(v.best_threshold == inf);
  CHECK(v.tar_at_far_1e2 == 0.0);
  CHECK(v.tar_at_far_1e3 == 0.0);
}

TEST_CASE("tied scores switch together and count half in the AUC") {
  // same {3, 2, 2}, different {2, 1}; S = 3, D = 2.
  // Groups by score: {3: s} {2: s, s, d} {1: d}, so the ROC has one point per distinct score:
  // (inf,0,0) (3,0,1/3) (2,1/2,1) (1,1,1).
  // AUC by Mann-Whitney over the 6 (same, different) pairs: 3>2, 3>1, 2=2 (1/2), 2>1, 2=2 (1/2),
  // 2>1 -> 5/6. By trapezoids: .5*(1/3+1)/2 + .5*(1+1)/2 = 1/3 + 1/2 = 5/6.
  // EER: FPR - FNR sign from fp*S - fn*D: -6, -4, +3 at the points: crossing between (3,0,1/3)
  // and (2,1/2,1) at a = 4/7 of the way: EER = 0 + 4/7 * 1/2 = 2/7 (FNR 2/3 * (1 - 4/7) = 2/7 too),
  // threshold 3 + 4/7 * (2 - 3) = 17/7.
  // Accuracy (TP + TN)/5: 2/5, 3/5, 4/5, 3/5 -> best 4/5 at threshold 2.
  // FPR <= 1e-2 only at the first two points: TAR 1/3 for both.
  const Verification v = verify(tie_scores, tie_same, true);
  check_roc(v, {{inf, 0, 0}, {3, 0, 1.0 / 3}, {2, .5, 1}, {1, 1, 1}});
  CHECK(v.auc == doctest::Approx(5.0 / 6));
  CHECK(v.eer == doctest::Approx(2.0 / 7));
  CHECK(v.eer_threshold == doctest::Approx(17.0 / 7));
  CHECK(v.best_accuracy == doctest::Approx(0.8));
  CHECK(v.best_threshold == 2.0);
  CHECK(v.tar_at_far_1e2 == doctest::Approx(1.0 / 3));
  CHECK(v.tar_at_far_1e3 == doctest::Approx(1.0 / 3));
}

TEST_CASE("distances give the negated similarity case's figures with thresholds negated") {
  // The tie case's scores negated and read as distances ("same" when distance <= t) orders the
  // pairs identically, so every rate is the same and every threshold is negated.
  std::vector<float> distances;
  for (float s : tie_scores) distances.push_back(-s);
  const Verification sim = verify(tie_scores, tie_same, true);
  const Verification dist = verify(distances, tie_same, false);
  CHECK_FALSE(dist.higher_is_same);
  check_roc(dist, {{-inf, 0, 0}, {-3, 0, 1.0 / 3}, {-2, .5, 1}, {-1, 1, 1}});
  CHECK(dist.auc == sim.auc);
  CHECK(dist.eer == sim.eer);
  CHECK(dist.eer_threshold == doctest::Approx(-17.0 / 7));
  CHECK(dist.eer_threshold == -sim.eer_threshold);
  CHECK(dist.best_accuracy == sim.best_accuracy);
  CHECK(dist.best_threshold == -2.0);
  CHECK(dist.tar_at_far_1e2 == sim.tar_at_far_1e2);
  CHECK(dist.tar_at_far_1e3 == sim.tar_at_far_1e3);
}

TEST_CASE("EER interpolated between two ROC points") {
  // same {5, 2}, different {4, 3, 1}; S = 2, D = 3, no ties.
  // ROC: (inf,0,0) (5,0,1/2) (4,1/3,1/2) (3,2/3,1/2) (2,2/3,1) (1,1,1).
  // fp*S - fn*D: -6, -3, -1, +1, ... -> crossing half way between (4,1/3,1/2) and (3,2/3,1/2):
  // EER = 1/3 + 1/2 * 1/3 = 1/2 (= FNR, constant 1/2 on that segment), threshold 3.5.
  // AUC: same 5 beats 3 differents, same 2 beats 1: 4/6 = 2/3.
  // Accuracy /5: 3, 4, 3, 2, 3, 2 -> best 4/5 at 5. TAR at FPR <= 1e-2: 1/2.
  const Verification v = verify({4, 5, 3, 2, 1}, {0, 1, 0, 1, 0}, true);
  CHECK(v.roc.size() == 6);
  CHECK(v.auc == doctest::Approx(2.0 / 3));
  CHECK(v.eer == doctest::Approx(0.5));
  CHECK(v.eer_threshold == doctest::Approx(3.5));
  CHECK(v.best_accuracy == doctest::Approx(0.8));
  CHECK(v.best_threshold == 5.0);
  CHECK(v.tar_at_far_1e2 == 0.5);
  CHECK(v.tar_at_far_1e3 == 0.5);
}

TEST_CASE("EER crossing on the first segment takes the finite threshold") {
  // same {5, 5}, different {5, 1}: the first run of equal scores already mixes both kinds.
  // ROC: (inf,0,0) (5,1/2,1) (1,1,1). fp*S - fn*D: -4 then +2: a = 4/6 = 2/3 of the way,
  // EER = 2/3 * 1/2 = 1/3 (FNR 1 - 2/3 = 1/3); the segment starts at the infinite threshold,
  // so the EER threshold is the other end's, 5.
  // AUC: 5 = 5 twice (1/2 each), 5 > 1 twice: 3/4.
  const Verification v = verify({5, 5, 1, 5}, {1, 0, 0, 1}, true);
  check_roc(v, {{inf, 0, 0}, {5, .5, 1}, {1, 1, 1}});
  CHECK(v.eer == doctest::Approx(1.0 / 3));
  CHECK(v.eer_threshold == 5.0);
  CHECK(v.auc == doctest::Approx(0.75));
}

TEST_CASE("TAR at FAR 1e-2 and 1e-3 differ once there are enough different pairs") {
  // same {12, 9, 7, 5}; different {10, 8} and 198 at 0: S = 4, D = 200.
  // Walking down: 12 s (tp1 fp0), 10 d (fp1), 9 s (tp2), 8 d (fp2), 7 s (tp3), 5 s (tp4), 0 d x198.
  // FPR <= 1e-3 needs fp = 0: best TPR 1/4 (threshold 12). FPR <= 1e-2 allows fp <= 2 (2/200 is
  // exactly the bound): TPR 1 at threshold 5.
  // AUC: 12 beats 200, 9 beats 199, 7 and 5 beat 198 each: 795/800.
  // EER: fp*4 - fn*200 is -192 at 7 (fp2, fn1) and +8 at 5 (fp2, fn0): a = 192/200 = .96,
  // EER = 2/200 (FPR constant on the segment), threshold 7 - .96*2 = 5.08.
  // Best accuracy: threshold 5, (4 + 198)/204.
  std::vector<float> scores{12, 10, 9, 8, 7, 5};
  std::vector<uint8_t> same{1, 0, 1, 0, 1, 1};
  scores.insert(scores.begin() + 3, 198, 0.0f);
  same.insert(same.begin() + 3, 198, 0);
  const Verification v = verify(scores, same, true);
  CHECK(v.tar_at_far_1e3 == 0.25);
  CHECK(v.tar_at_far_1e2 == 1.0);
  CHECK(v.auc == doctest::Approx(795.0 / 800));
  CHECK(v.eer == doctest::Approx(0.01));
  CHECK(v.eer_threshold == doctest::Approx(5.08));
  CHECK(v.best_threshold == 5.0);
  CHECK(v.best_accuracy == doctest::Approx(202.0 / 204));
}

TEST_CASE("verify rejects missing pair kinds, mismatched sizes and non-finite scores") {
  CHECK_THROWS_WITH_AS(verify({1, 2}, {0, 0}, true), doctest::Contains("0 same and 2 different"), Error);
  CHECK_THROWS_WITH_AS(verify({1, 2}, {1, 1}, true), doctest::Contains("2 same and 0 different"), Error);
  CHECK_THROWS_AS(verify({}, {}, true), Error);
  CHECK_THROWS_WITH_AS(verify({1, 2, 3}, {1, 0}, true), doctest::Contains("3 scores but 2"), Error);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH_AS(verify({1, 2, nan, 4}, {1, 0, 1, 0}, true), doctest::Contains("score 2 is not finite"), Error);
  CHECK_THROWS_WITH_AS(verify({1, std::numeric_limits<float>::infinity()}, {1, 0}, false),
                       doctest::Contains("score 1 is not finite"), Error);
}

TEST_CASE("write_roc_csv writes every ROC point, read back") {
  const auto dir = std::filesystem::temp_directory_path() / "graphrun_test_verification";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "roc.csv").string();
  const Verification v = verify(tie_scores, tie_same, true);
  write_roc_csv(path, v);

  std::ifstream in(path);
  std::string line;
  REQUIRE(std::getline(in, line));
  CHECK(line == "threshold,fpr,tpr");
  std::vector<RocPoint> read;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string t, f, p;
    REQUIRE(std::getline(fields, t, ','));
    REQUIRE(std::getline(fields, f, ','));
    REQUIRE(std::getline(fields, p));
    read.push_back({std::stod(t), std::stod(f), std::stod(p)});
  }
  Verification back;
  back.roc = read;
  check_roc(back, v.roc);
  CHECK(read.front().threshold == inf);
  std::filesystem::remove_all(dir);

  CHECK_THROWS_WITH_AS(write_roc_csv((dir / "missing" / "roc.csv").string(), v), doctest::Contains("missing/roc.csv"),
                       Error);
}

TEST_CASE("json_fields parse as JSON members and report names every figure") {
  const Verification v = verify(tie_scores, tie_same, true);
  const auto j = nlohmann::json::parse("{" + json_fields(v) + "}");
  CHECK(j.at("auc").get<double>() == doctest::Approx(5.0 / 6));
  CHECK(j.at("eer").get<double>() == doctest::Approx(2.0 / 7));
  CHECK(j.at("eer_threshold").get<double>() == doctest::Approx(17.0 / 7));
  CHECK(j.at("best_accuracy").get<double>() == doctest::Approx(0.8));
  CHECK(j.at("best_threshold").get<double>() == 2.0);
  CHECK(j.at("tar_at_far_1e2").get<double>() == doctest::Approx(1.0 / 3));
  CHECK(j.at("tar_at_far_1e3").get<double>() == doctest::Approx(1.0 / 3));
  CHECK(j.at("same_pairs").get<int64_t>() == 3);
  CHECK(j.at("different_pairs").get<int64_t>() == 2);
  CHECK(j.at("higher_is_same").get<bool>());

  // The inverted case's best threshold is +inf: JSON has no infinity, so it is null.
  const auto inverted = nlohmann::json::parse("{" + json_fields(verify({1, 8, 2, 9}, {1, 0, 1, 0}, true)) + "}");
  CHECK(inverted.at("best_threshold").is_null());

  const std::string text = report(v);
  CHECK(text.find("AUC             0.8333") != std::string::npos);
  CHECK(text.find("EER             0.2857 at threshold 2.42857") != std::string::npos);
  CHECK(text.find("best accuracy   0.8000 at threshold 2") != std::string::npos);
  CHECK(text.find("TAR @ FAR 1e-2  0.3333") != std::string::npos);
  CHECK(text.find("TAR @ FAR 1e-3  0.3333") != std::string::npos);
}
