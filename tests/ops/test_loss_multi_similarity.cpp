#include <doctest/doctest.h>
#include <graphrun/error.hpp>
#include <graphrun/harness.hpp>
#include <graphrun/primitives.hpp>

#include "harness_options.hpp"
#include "metric_loss_checks.hpp"
#include "plugins.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <vector>

using namespace graphrun;
using graphrun::testing::batch_of;

namespace {

struct Params {
  double alpha = 2, beta = 50, base = 0.5, epsilon = 0.1;
};

Attributes ms_attrs(const char* alpha = nullptr, const char* beta = nullptr, const char* base = nullptr,
                    const char* epsilon = nullptr) {
  Attributes a("loss");
  if (alpha) a.set("alpha", alpha);
  if (beta) a.set("beta", beta);
  if (base) a.set("base", base);
  if (epsilon) a.set("epsilon", epsilon);
  return a;
}
Attributes ms_attrs(const Params& p) {
  const std::string v[] = {std::to_string(p.alpha), std::to_string(p.beta), std::to_string(p.base), std::to_string(p.epsilon)};
  return ms_attrs(v[0].c_str(), v[1].c_str(), v[2].c_str(), v[3].c_str());
}

using Batch = testing::MetricBatch;

double similarity(const Batch& b, size_t i, size_t j) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t k = 0; k < b.dim; ++k) {
    const double u = b.x[i * b.dim + k], v = b.x[j * b.dim + k];
    ab += u * v;
    aa += u * u;
    bb += v * v;
  }
  return ab / std::sqrt(aa * bb);
}

// The miner and the loss straight from their definitions, in double precision (the sums
// of exponentials taken as they stand). Also: how many pairs the mining kept and dropped,
// and the least distance of any mining comparison from its threshold.
struct Reference {
  double loss = 0;
  size_t kept = 0, dropped = 0;
  double gap = std::numeric_limits<double>::infinity();
};
Reference reference(const Batch& b, const Params& p) {
  Reference r;
  size_t anchors = 0;
  for (size_t a = 0; a < b.size(); ++a) {
    std::vector<double> pos, neg;
    for (size_t j = 0; j < b.size(); ++j)
      if (j != a) (b.y[j] == b.y[a] ? pos : neg).push_back(similarity(b, a, j));
    if (pos.empty() || neg.empty()) continue;
    ++anchors;
    const double min_pos = *std::min_element(pos.begin(), pos.end()), max_neg = *std::max_element(neg.begin(), neg.end());
    double sp = 0, sn = 0;
    for (double s : pos) {
      r.gap = std::min(r.gap, std::abs(s - p.epsilon - max_neg));
      if (s - p.epsilon < max_neg) sp += std::exp(-p.alpha * (s - p.base)), ++r.kept;
      else ++r.dropped;
    }
    for (double s : neg) {
      r.gap = std::min(r.gap, std::abs(s + p.epsilon - min_pos));
      if (s + p.epsilon > min_pos) sn += std::exp(p.beta * (s - p.base)), ++r.kept;
      else ++r.dropped;
    }
    r.loss += std::log1p(sp) / p.alpha + std::log1p(sn) / p.beta;
  }
  r.loss /= double(anchors);
  return r;
}

// `classes` x `per_class` samples around random centres, classes interleaved.
Batch clustered(size_t classes, size_t per_class, size_t dim, uint32_t seed, float spread) {
  return testing::clustered_batch(classes, per_class, dim, seed, spread, [](size_t c) { return float(2 * c + 1); });  // ids 1, 3, 5, ...
}

double run(const Attributes& a, const Batch& b) { return testing::metric_loss("multi_similarity_loss", a, b); }

// The first batch clustered(..., seed, spread) from seed 1 on whose mining comparisons all
// lie more than min_gap from their thresholds, with pairs kept and dropped (dropped only
// where epsilon < 1: a wide margin keeps all).
Batch away_from_thresholds(size_t classes, size_t per_class, size_t dim, float spread, const Params& p, double min_gap) {
  for (uint32_t seed = 1; seed < 1000; ++seed) {
    Batch b = clustered(classes, per_class, dim, seed, spread);
    const Reference r = reference(b, p);
    if (r.gap > min_gap && r.kept > 0 && (r.dropped > 0 || p.epsilon >= 1)) return b;
  }
  FAIL("no seed below 1000 gives such a batch");
  return {};
}

// The defaults, and points with other scales, a negative base, no mining margin, a wide one.
const Params kPoints[] = {{}, {1, 10, 0.3, 0}, {4, 20, 0.7, 0.3}, {0.5, 2, -0.2, 1.0}};

// a = (1, 0), b = (0.6, 0.8), c = (0, 1), d = (-1, 0); classes {a, c} and {b, d}.
const Batch kHand{{1, 0, 0.6f, 0.8f, 0, 1, -1, 0}, {0, 1, 0, 1}, 2};

}  // namespace

TEST_CASE("multi_similarity_loss: op info, output shape and jit primitives") {
  testing::check_metric_loss_info("multi_similarity_loss", ms_attrs());
  CHECK(testing::registry().find("multi_similarity_loss")->attrs.size() == 4);
}

TEST_CASE("multi_similarity_loss: a batch worked by hand (D = 2)") {
  // Similarities: ab 0.6, ac 0, ad -1, bc 0.8, bd -0.6, cd 0. Per anchor (positives; negatives;
  // least similar positive, most similar negative), the mining at epsilon 0.1:
  //   a: (c 0; b 0.6, d -1; 0, 0.6)       keeps c; b (0.7 > 0), drops d (-0.9 <= 0)
  //   c: (a 0; b 0.8, d 0; 0, 0.8)        keeps a; b and d (0.1 > 0)
  //   b: (d -0.6; a 0.6, c 0.8; -0.6, 0.8) keeps d (-0.7 < 0.8); a and c
  //   d: (b -0.6; a -1, c 0; -0.6, 0)     keeps b (-0.7 < 0); c (0.1 > -0.6), drops a (-0.9)
  // alpha 2, beta 4, base 0.5: positive terms (1/2) log(1 + exp(-2 (S - 0.5))), exponents
  // 1 (a, c) and 2.2 (b, d); negative terms (1/4) log(1 + sum exp(4 (S - 0.5))), exponents
  // a: 0.4; c: 1.2, -2; b: 0.4, 1.2; d: -2.
  auto pos = [](double z) { return std::log1p(std::exp(z)) / 2; };
  const double hand = (2 * pos(1.0) + 2 * pos(2.2) +
                       (std::log1p(std::exp(0.4)) + std::log1p(std::exp(1.2) + std::exp(-2.0)) +
                        std::log1p(std::exp(0.4) + std::exp(1.2)) + std::log1p(std::exp(-2.0))) / 4) / 4;
  CHECK(run(ms_attrs("2", "4", "0.5", "0.1"), kHand) == doctest::Approx(hand).epsilon(1e-6));
  // epsilon 1.5 keeps the pair a-d too, exponent 4 (-1 - 0.5) = -6, on both sides of it.
  const double wide = hand + (std::log1p(std::exp(0.4) + std::exp(-6.0)) - std::log1p(std::exp(0.4)) +
                              std::log1p(std::exp(-2.0) + std::exp(-6.0)) - std::log1p(std::exp(-2.0))) / 16;
  CHECK(run(ms_attrs("2", "4", "0.5", "1.5"), kHand) == doctest::Approx(wide).epsilon(1e-6));
  CHECK(std::abs(wide - hand) > 1e-5);
  // The same mining with the defaults (alpha 2, beta 50): negative exponents 50 (S - 0.5).
  const double dflt = (2 * pos(1.0) + 2 * pos(2.2) +
                       (std::log1p(std::exp(5.0)) + std::log1p(std::exp(15.0) + std::exp(-25.0)) +
                        std::log1p(std::exp(5.0) + std::exp(15.0)) + std::log1p(std::exp(-25.0))) / 50) / 4;
  CHECK(run(ms_attrs(), kHand) == doctest::Approx(dflt).epsilon(1e-6));
  // Scales of 1000 would overflow exp (e^800) taken as it stands; factored out, each side is
  // max(0, max_j z_j) / scale to within e^-100: positives max(0, 0.5 - S), negatives
  // max(0, S - 0.5): a 0.5 + 0.1, c 0.5 + 0.3, b 1.1 + 0.3, d 1.1 + 0, over 4 anchors.
  CHECK(run(ms_attrs("1000", "1000", "0.5", "0.1"), kHand) == doctest::Approx(3.9 / 4).epsilon(1e-5));
  // A third class with one sample, e = (0, -1): no anchor of its own, a negative of all four
  // (similarities a 0, b -0.8, c -1, d 0; no anchor's most similar negative). Kept by a
  // (0.1 > 0) and d (0.1 > -0.6), not by c (-0.9 <= 0) or b (-0.7 <= -0.6): exponent -2 twice.
  const Batch e{{1, 0, 0.6f, 0.8f, 0, 1, -1, 0, 0, -1}, {0, 1, 0, 1, 2}, 2};
  const double third = hand + (std::log1p(std::exp(0.4) + std::exp(-2.0)) - std::log1p(std::exp(0.4)) +
                               std::log1p(2 * std::exp(-2.0)) - std::log1p(std::exp(-2.0))) / 16;
  CHECK(run(ms_attrs("2", "4", "0.5", "0.1"), e) == doctest::Approx(third).epsilon(1e-6));
}

TEST_CASE("multi_similarity_loss: forward against a double-precision re-implementation") {
  size_t dropped = 0;
  for (const Params& p : kPoints) {
    CAPTURE(p.alpha);
    CAPTURE(p.beta);
    CAPTURE(p.base);
    CAPTURE(p.epsilon);
    // Comparisons > 1e-4 from their thresholds: float rounding cannot flip a mining decision.
    const std::pair<Batch, double> cases[] = {{away_from_thresholds(3, 3, 4, 1.5f, p, 1e-4), 1e-5},
                                              {away_from_thresholds(4, 4, 8, 1.5f, p, 1e-4), 1e-5},
                                              {away_from_thresholds(10, 6, 32, 2.f, p, 1e-4), 1e-4}};
    for (const auto& c : cases) {
      const Batch& b = c.first;
      CAPTURE(b.size());
      const Reference r = reference(b, p);
      CHECK(r.kept > 0);
      dropped += r.dropped;
      CHECK(run(ms_attrs(p), b) == doctest::Approx(r.loss).epsilon(c.second));
    }
  }
  CHECK(dropped > 0);  // the mining drops pairs on these batches
}

TEST_CASE("multi_similarity_loss: finite-difference gradients through the kept pairs") {
  for (const Params& p : kPoints) {
    CAPTURE(p.alpha);
    CAPTURE(p.beta);
    CAPTURE(p.base);
    CAPTURE(p.epsilon);
    // Inputs away from every mining threshold (each comparison > 0.02 from switching, far
    // more than a step of 1e-3 in an embedding moves a similarity), some pairs dropped
    // where the margin allows it.
    const Batch b = away_from_thresholds(3, 3, 4, 1.5f, p, 0.02);
    const Reference r = reference(b, p);
    REQUIRE(r.gap > 0.02);
    CHECK(r.kept > 0);
    NodeHarness h(testing::registry(), "multi_similarity_loss", ms_attrs(p), {{4}, {1}}, batch_of(9, {true, false}));
    h.set_input(0, b.x);
    h.set_input(1, b.y);
    auto c = h.check_gradients(1e-3);
    INFO(c.worst);
    CHECK(c.checked == 36);
    CHECK(c.max_error < 1e-3);
    // A gradient large enough that a wrong sign (analytic = -numeric) fails the check above.
    h.backward({1});
    const auto g = h.input_grad(0);
    CHECK(std::any_of(g.begin(), g.end(), [](float v) { return std::abs(v) > 0.01f; }));
  }
}

TEST_CASE("multi_similarity_loss: shuffling the batch rows leaves the loss unchanged") {
  const Batch b = clustered(5, 4, 8, 13, 1.0f);
  std::mt19937 rng(2);
  for (const Params& p : kPoints) {
    CAPTURE(p.alpha);
    CAPTURE(p.epsilon);
    const double base = run(ms_attrs(p), b);
    CHECK(base > 0);
    std::vector<size_t> perm(b.size());
    std::iota(perm.begin(), perm.end(), size_t(0));
    std::shuffle(perm.begin(), perm.end(), rng);
    Batch s{{}, {}, b.dim};
    for (size_t i : perm) {
      s.x.insert(s.x.end(), b.x.begin() + long(i * b.dim), b.x.begin() + long((i + 1) * b.dim));
      s.y.push_back(b.y[i]);
    }
    REQUIRE(s.y != b.y);
    CHECK(run(ms_attrs(p), s) == doctest::Approx(base).epsilon(1e-5));
    // Rows shuffled without their class ids describe another batch.
    Batch q = s;
    q.y = b.y;
    CHECK(std::abs(run(ms_attrs(p), q) - base) > 1e-3);
  }
}

TEST_CASE("multi_similarity_loss: a batch of one class (the executor's warm-up batch) costs 0, with no gradient") {
  testing::check_single_class_batches("multi_similarity_loss", ms_attrs(), 4);
  // The same harness, fed a batch of two classes afterwards, computes as usual.
  NodeHarness h(testing::registry(), "multi_similarity_loss", ms_attrs(), {{2}, {1}}, batch_of(4, {true, false}));
  h.set_input(0, kHand.x);
  h.set_input(1, {0, 0, 0, 0});
  h.forward();
  h.backward({1});
  h.set_input(1, kHand.y);
  h.forward();
  CHECK(h.output()[0] == doctest::Approx(reference(kHand, {}).loss).epsilon(1e-6));
  h.backward({1});
  const auto g = h.input_grad(0);
  CHECK(std::any_of(g.begin(), g.end(), [](float v) { return v != 0.f; }));
}

TEST_CASE("multi_similarity_loss: batches without a usable anchor, bad class ids, swapped inputs and bad attributes") {
  auto forward = [](std::vector<float> y) {
    NodeHarness h(testing::registry(), "multi_similarity_loss", ms_attrs(), {{3}, {1}}, batch_of(int64_t(y.size()), {true, false}));
    h.set_input(1, y);
    h.forward();
  };
  CHECK_THROWS_WITH_AS(forward({0, 1, 2}),
                       doctest::Contains("multi_similarity_loss: each of the 3 samples of the batch is the only one of "
                                         "its class, so no anchor has a positive"),
                       Error);
  CHECK_THROWS_WITH_AS(forward({0, 1, 2}), doctest::Contains("P >= 2 classes x K >= 2 samples each"), Error);
  CHECK_NOTHROW(forward({0, 1, 2, 2}));  // anchors 2 and 3 have both
  CHECK_THROWS_WITH_AS(forward({0, 0.25f, 1, 1}),
                       doctest::Contains("multi_similarity_loss: class id 0.25 of sample 1 is not a non-negative integer"),
                       Error);
  CHECK_THROWS_WITH_AS(forward({0, 0, -3, 1}), doctest::Contains("multi_similarity_loss: class id -3 of sample 2"), Error);
  CHECK_THROWS_WITH_AS(forward({0, 0, 1, std::nanf("")}), doctest::Contains("multi_similarity_loss: class id nan of sample 3"),
                       Error);

  auto make = [](const Attributes& a, std::vector<Shape> shapes) {
    NodeHarness h(testing::registry(), "multi_similarity_loss", a, shapes, batch_of(4, std::vector<bool>(shapes.size(), true)));
  };
  CHECK_THROWS_WITH_AS(make(ms_attrs(), {{1}, {128}}),
                       doctest::Contains("multi_similarity_loss takes the embeddings [D] as input 0 and the class id [1] "
                                         "as input 1, got [1] and [128]: are the inputs swapped?"),
                       Error);
  CHECK_THROWS_WITH_AS(make(ms_attrs(), {{8}, {8}}), doctest::Contains("multi_similarity_loss takes the embeddings"), Error);
  CHECK_THROWS_WITH_AS(make(ms_attrs(), {{2, 4}, {1}}), doctest::Contains("multi_similarity_loss needs rank-1 embeddings"),
                       Error);
  for (const char* v : {"0", "-1", "nan", "inf"}) {
    CAPTURE(v);
    CHECK_THROWS_WITH_AS(make(ms_attrs(v), {{4}, {1}}), doctest::Contains("attribute 'alpha' must be a positive number"), Error);
    CHECK_THROWS_WITH_AS(make(ms_attrs(nullptr, v), {{4}, {1}}), doctest::Contains("attribute 'beta' must be a positive number"),
                         Error);
  }
  for (const char* v : {"nan", "inf", "-inf"}) {
    CAPTURE(v);
    CHECK_THROWS_WITH_AS(make(ms_attrs(nullptr, nullptr, v), {{4}, {1}}), doctest::Contains("attribute 'base' must be a finite number"),
                         Error);
  }
  for (const char* v : {"-0.1", "nan", "inf"}) {
    CAPTURE(v);
    CHECK_THROWS_WITH_AS(make(ms_attrs(nullptr, nullptr, nullptr, v), {{4}, {1}}),
                         doctest::Contains("attribute 'epsilon' must be a number >= 0"), Error);
  }
  CHECK_THROWS_WITH_AS(make(ms_attrs("two"), {{4}, {1}}), doctest::Contains("attribute 'alpha' expects a number"), Error);
  CHECK_NOTHROW(make(ms_attrs("0.1", "1", "-1", "0"), {{4}, {1}}));  // a negative base, no margin
}
