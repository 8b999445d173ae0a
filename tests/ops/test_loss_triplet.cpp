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

Attributes triplet_attrs(const char* distance = nullptr, const char* margin = nullptr, const char* soft = nullptr) {
  Attributes a("loss");
  if (distance) a.set("distance", distance);
  if (margin) a.set("margin", margin);
  if (soft) a.set("soft", soft);
  return a;
}

using Batch = testing::MetricBatch;

double distance(const std::string& kind, const Batch& b, size_t i, size_t j) {
  double sq = 0, ab = 0, aa = 0, bb = 0;
  for (size_t k = 0; k < b.dim; ++k) {
    const double u = b.x[i * b.dim + k], v = b.x[j * b.dim + k];
    sq += (u - v) * (u - v);
    ab += u * v;
    aa += u * u;
    bb += v * v;
  }
  if (kind == "sqeuclidean") return sq;
  if (kind == "euclidean") return std::sqrt(sq);
  return 1 - ab / std::sqrt(aa * bb);
}

// Batch-hard mining straight from its definition, in double precision. For every anchor
// having both: d_ap - d_an, and how far the mining is from switching (the gap between
// the farthest positive and the next, and between the nearest negative and the next).
struct Mined {
  std::vector<double> x;  // d_ap - d_an per counted anchor
  double gap = std::numeric_limits<double>::infinity();
};
Mined mine(const std::string& kind, const Batch& b) {
  Mined m;
  for (size_t a = 0; a < b.size(); ++a) {
    std::vector<double> pos, neg;
    for (size_t j = 0; j < b.size(); ++j)
      if (j != a) (b.y[j] == b.y[a] ? pos : neg).push_back(distance(kind, b, a, j));
    if (pos.empty() || neg.empty()) continue;
    std::sort(pos.begin(), pos.end(), std::greater<>());
    std::sort(neg.begin(), neg.end());
    if (pos.size() > 1) m.gap = std::min(m.gap, pos[0] - pos[1]);
    if (neg.size() > 1) m.gap = std::min(m.gap, neg[1] - neg[0]);
    m.x.push_back(pos[0] - neg[0]);
  }
  return m;
}

double reference(const std::string& kind, const Batch& b, double margin, bool soft) {
  const Mined m = mine(kind, b);
  double sum = 0;
  for (double x : m.x) sum += soft ? std::log1p(std::exp(x)) : std::max(x + margin, 0.0);
  return sum / double(m.x.size());
}

// `classes` x `per_class` samples around random centres, classes interleaved.
Batch clustered(size_t classes, size_t per_class, size_t dim, uint32_t seed, float spread) {
  return testing::clustered_batch(classes, per_class, dim, seed, spread, [](size_t c) { return float(2 * c + 1); });  // ids 1, 3, 5, ...
}

double run(const Attributes& a, const Batch& b) { return testing::metric_loss("triplet_loss", a, b); }

const std::string kDistances[] = {"euclidean", "sqeuclidean", "cosine"};

}  // namespace

TEST_CASE("triplet_loss: op info, output shape and jit primitives") {
  testing::check_metric_loss_info("triplet_loss", triplet_attrs());
}

TEST_CASE("triplet_loss: a batch worked by hand (D = 1)") {
  // Class 0 at 0 and 1, class 1 at 3 and 5. Hardest (positive, negative) distances per anchor:
  // 0: (1, 3), 1: (1, 2), 3: (2, 2), 5: (2, 4).
  const Batch b{{0, 3, 1, 5}, {0, 1, 0, 1}, 1};
  CHECK(run(triplet_attrs(), b) == doctest::Approx(0.2 / 4).epsilon(1e-6));  // euclidean, margin 0.2: anchor 3 only
  CHECK(run(triplet_attrs("euclidean", "1.5"), b) == doctest::Approx((0.5 + 1.5) / 4).epsilon(1e-6));
  CHECK(run(triplet_attrs("sqeuclidean", "1.5"), b) == doctest::Approx(1.5 / 4).epsilon(1e-6));  // (1, 9) (1, 4) (4, 4) (4, 16)
  const double soft = (2 * std::log1p(std::exp(-2.0)) + std::log1p(std::exp(-1.0)) + std::log(2.0)) / 4;
  CHECK(run(triplet_attrs(nullptr, nullptr, "true"), b) == doctest::Approx(soft).epsilon(1e-6));
  // A third class with one sample (at 10): no anchor of its own, nobody's nearest negative;
  // the mean stays over the 4 anchors that have both.
  const Batch c{{0, 3, 1, 5, 10}, {0, 1, 0, 1, 2}, 1};
  CHECK(run(triplet_attrs(), c) == doctest::Approx(0.2 / 4).epsilon(1e-6));
  // ... but a near one (at 2.5) is the nearest negative of 3 (0.5) and 1 (1.5):
  // anchor 3: 2 - 0.5 + 0.2 = 1.7; anchor 1: 1 - 1.5 + 0.2 < 0; anchor 5: 2 - 2.5 + 0.2 < 0.
  const Batch d{{0, 3, 1, 5, 2.5f}, {0, 1, 0, 1, 2}, 1};
  CHECK(run(triplet_attrs(), d) == doctest::Approx(1.7 / 4).epsilon(1e-6));
}

TEST_CASE("triplet_loss: forward against a double-precision re-implementation") {
  for (const std::string& kind : kDistances)
  for (bool soft : {false, true}) {
    CAPTURE(kind);
    CAPTURE(soft);
    const Attributes a = triplet_attrs(kind.c_str(), soft ? nullptr : "0.5", soft ? "true" : nullptr);
    {
      INFO("3 classes x 3, D = 4");
      const Batch b = clustered(3, 3, 4, 7, 0.8f);
      CHECK(run(a, b) == doctest::Approx(reference(kind, b, 0.5, soft)).epsilon(1e-5));
    }
    {
      INFO("16 classes x 8, D = 64");
      const Batch b = clustered(16, 8, 64, 8, 1.5f);
      CHECK(run(a, b) == doctest::Approx(reference(kind, b, 0.5, soft)).epsilon(1e-4));
    }
  }
}

TEST_CASE("triplet_loss: finite-difference gradients through the mined pairs, every distance") {
  for (const std::string& kind : kDistances)
  for (bool soft : {false, true}) {
    CAPTURE(kind);
    CAPTURE(soft);
    // Inputs away from every switch point: the farthest positive and nearest negative of
    // each anchor lead the next by > 0.05, and the margin sits between two anchors'
    // d_an - d_ap, > 0.05 from both, so that some hinges are active and some are not.
    Batch b;
    double margin = 0, gap = 0;
    for (uint32_t seed = 1; seed < 200 && gap <= 0.05; ++seed) {
      b = clustered(3, 3, 4, seed, 0.7f);
      const Mined m = mine(kind, b);
      std::vector<double> v;
      for (double x : m.x) v.push_back(-x);  // d_an - d_ap
      std::sort(v.begin(), v.end());
      double best = 0, at = 0;
      for (size_t k = 0; k + 1 < v.size(); ++k) {
        const double mid = (v[k] + v[k + 1]) / 2;
        if (mid > 0.05 && (v[k + 1] - v[k]) / 2 > best) best = (v[k + 1] - v[k]) / 2, at = mid;
      }
      gap = std::min(m.gap, soft ? 1.0 : best);
      margin = at;
    }
    REQUIRE(gap > 0.05);
    const std::string ms = std::to_string(margin);
    NodeHarness h(testing::registry(), "triplet_loss", triplet_attrs(kind.c_str(), soft ? nullptr : ms.c_str(), soft ? "true" : nullptr),
                  {{4}, {1}}, batch_of(9, {true, false}));
    h.set_input(0, b.x);
    h.set_input(1, b.y);
    auto r = h.check_gradients(1e-3);
    INFO(r.worst);
    CHECK(r.checked == 36);
    CHECK(r.max_error < 1e-3);
    h.forward();
    CHECK(h.output()[0] > 0);
  }
}

TEST_CASE("triplet_loss: shuffling the batch rows leaves the loss unchanged") {
  const Batch b = clustered(5, 4, 8, 13, 1.0f);
  std::mt19937 rng(2);
  for (const std::string& kind : kDistances)
  for (bool soft : {false, true}) {
    CAPTURE(kind);
    CAPTURE(soft);
    const Attributes a = triplet_attrs(kind.c_str(), soft ? nullptr : "0.3", soft ? "true" : nullptr);
    const double base = run(a, b);
    CHECK(base > 0);
    std::vector<size_t> perm(b.size());
    std::iota(perm.begin(), perm.end(), size_t(0));
    std::shuffle(perm.begin(), perm.end(), rng);
    Batch p{{}, {}, b.dim};
    for (size_t i : perm) {
      p.x.insert(p.x.end(), b.x.begin() + long(i * b.dim), b.x.begin() + long((i + 1) * b.dim));
      p.y.push_back(b.y[i]);
    }
    REQUIRE(p.y != b.y);
    CHECK(run(a, p) == doctest::Approx(base).epsilon(1e-5));
    // Rows shuffled without their class ids describe another batch.
    Batch q = p;
    q.y = b.y;
    CHECK(std::abs(run(a, q) - base) > 1e-3);
  }
}

TEST_CASE("triplet_loss: gradient descent on the embeddings lowers the loss") {
  for (const std::string& kind : kDistances)
  for (bool soft : {false, true}) {
    CAPTURE(kind);
    CAPTURE(soft);
    const Batch b = clustered(4, 4, 8, 9, 1.5f);  // heavily overlapping classes
    NodeHarness h(testing::registry(), "triplet_loss", triplet_attrs(kind.c_str(), soft ? nullptr : "0.5", soft ? "true" : nullptr),
                  {{8}, {1}}, batch_of(int64_t(b.size()), {true, false}));
    h.set_input(1, b.y);
    std::vector<float> x = b.x;
    const float rate = kind == "cosine" ? 2.f : 0.5f;  // a cosine's gradient shrinks as 1 / |x|
    double first = 0, last = 0;
    for (int step = 0; step < 40; ++step) {
      h.set_input(0, x);
      h.forward();
      last = h.output()[0];
      if (step == 0) first = last;
      h.backward({1});
      const auto g = h.input_grad(0);
      for (size_t k = 0; k < x.size(); ++k) x[k] -= rate * g[k];
    }
    CAPTURE(first);
    CAPTURE(last);
    // A cosine distance lies in [0, 2]: the soft margin cannot go below log(1 + e^-2).
    const double floor = soft && kind == "cosine" ? std::log1p(std::exp(-2.0)) : 0.0;
    CHECK(first > floor + 0.1);
    CHECK(last - floor < 0.5 * (first - floor));
  }
}

TEST_CASE("triplet_loss: a batch of one class (the executor's warm-up batch) costs 0, with no gradient") {
  testing::check_single_class_batches("triplet_loss", triplet_attrs(), 4);
  // The same harness, fed a batch of two classes afterwards, computes as usual.
  NodeHarness h(testing::registry(), "triplet_loss", triplet_attrs(), {{1}, {1}}, batch_of(4, {true, false}));
  h.set_input(0, {0, 3, 1, 5});
  h.set_input(1, {0, 0, 0, 0});
  h.forward();
  h.backward({1});
  h.set_input(1, {0, 1, 0, 1});
  h.forward();
  CHECK(h.output()[0] == doctest::Approx(0.2 / 4).epsilon(1e-6));
  // Only anchor 3 (row 1) is active: (5 - 3) - (3 - 1) + 0.2 with its rows 3 and 2, over 4 anchors.
  h.backward({1});
  const std::vector<double> expect{0, -0.5, 0.25, 0.25};
  const auto g = h.input_grad(0);
  for (size_t k = 0; k < 4; ++k) {
    CAPTURE(k);
    CHECK(g[k] == doctest::Approx(expect[k]).epsilon(1e-5));
  }
}

TEST_CASE("triplet_loss: batches without a usable anchor, bad class ids, swapped inputs and bad attributes") {
  auto forward = [](std::vector<float> y) {
    NodeHarness h(testing::registry(), "triplet_loss", triplet_attrs(), {{3}, {1}}, batch_of(int64_t(y.size()), {true, false}));
    h.set_input(1, y);
    h.forward();
  };
  CHECK_THROWS_WITH_AS(forward({0, 1, 2}),
                       doctest::Contains("triplet_loss: each of the 3 samples of the batch is the only one of its class, "
                                         "so no anchor has a positive"),
                       Error);
  CHECK_THROWS_WITH_AS(forward({0, 1, 2}), doctest::Contains("P >= 2 classes x K >= 2 samples each"), Error);
  CHECK_NOTHROW(forward({0, 1, 2, 2}));  // anchors 2 and 3 have both
  CHECK_THROWS_WITH_AS(forward({0, 0.25f, 1, 1}),
                       doctest::Contains("triplet_loss: class id 0.25 of sample 1 is not a non-negative integer"), Error);
  CHECK_THROWS_WITH_AS(forward({0, 0, -3, 1}), doctest::Contains("triplet_loss: class id -3 of sample 2"), Error);
  CHECK_THROWS_WITH_AS(forward({0, 0, 1, std::nanf("")}), doctest::Contains("triplet_loss: class id nan of sample 3"), Error);

  auto make = [](const Attributes& a, std::vector<Shape> shapes) {
    NodeHarness h(testing::registry(), "triplet_loss", a, shapes, batch_of(4, std::vector<bool>(shapes.size(), true)));
  };
  CHECK_THROWS_WITH_AS(make(triplet_attrs(), {{1}, {128}}),
                       doctest::Contains("triplet_loss takes the embeddings [D] as input 0 and the class id [1] as input "
                                         "1, got [1] and [128]: are the inputs swapped?"),
                       Error);
  CHECK_THROWS_WITH_AS(make(triplet_attrs(), {{8}, {8}}), doctest::Contains("triplet_loss takes the embeddings"), Error);
  CHECK_THROWS_WITH_AS(make(triplet_attrs(), {{2, 4}, {1}}), doctest::Contains("triplet_loss needs rank-1 embeddings"), Error);
  CHECK_THROWS_WITH_AS(make(triplet_attrs(nullptr, "0"), {{4}, {1}}), doctest::Contains("attribute 'margin' must be a positive number"),
                       Error);
  CHECK_THROWS_WITH_AS(make(triplet_attrs(nullptr, "0.2", "true"), {{4}, {1}}),
                       doctest::Contains("attribute 'margin' has no effect with soft: true"), Error);
  CHECK_THROWS_WITH_AS(make(triplet_attrs(nullptr, nullptr, "maybe"), {{4}, {1}}),
                       doctest::Contains("attribute 'soft' expects true or false"), Error);
  CHECK_THROWS_WITH_AS(make(triplet_attrs("l1"), {{4}, {1}}), doctest::Contains("must be one of sqeuclidean, euclidean, cosine"),
                       Error);
}
