#include <doctest/doctest.h>
#include <graphrun/error.hpp>
#include <graphrun/harness.hpp>
#include <graphrun/primitives.hpp>

#include "harness_options.hpp"
#include "metric_loss_checks.hpp"
#include "plugins.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

using namespace graphrun;
using graphrun::testing::batch_of;

namespace {

Attributes proto_attrs(const char* distance = nullptr, const char* shots = nullptr, const char* scale = nullptr) {
  Attributes a("loss");
  if (distance) a.set("distance", distance);
  if (shots) a.set("shots", shots);
  if (scale) a.set("scale", scale);
  return a;
}

double distance(const std::string& kind, const float* a, const std::vector<double>& b) {
  double sq = 0, ab = 0, aa = 0, bb = 0;
  for (size_t k = 0; k < b.size(); ++k) {
    sq += (a[k] - b[k]) * (a[k] - b[k]);
    ab += a[k] * b[k];
    aa += double(a[k]) * a[k];
    bb += b[k] * b[k];
  }
  if (kind == "sqeuclidean") return sq;
  if (kind == "euclidean") return std::sqrt(sq);
  return 1 - ab / std::sqrt(aa * bb);
}

// The paper's loss, straight from its definition, in double precision: prototypes as
// means of the first `shots` samples of each class in batch order, softmax over -scale d.
double reference(const std::vector<float>& x, const std::vector<float>& y, size_t dim, size_t shots,
                 const std::string& kind, double scale) {
  std::map<int, std::vector<size_t>> members;
  for (size_t i = 0; i < y.size(); ++i) members[int(y[i])].push_back(i);
  std::map<int, std::vector<double>> proto;
  for (auto& [c, m] : members) {
    std::vector<double> p(dim, 0.0);
    for (size_t s = 0; s < shots; ++s)
      for (size_t k = 0; k < dim; ++k) p[k] += x[m[s] * dim + k] / double(shots);
    proto[c] = p;
  }
  double sum = 0;
  size_t queries = 0;
  for (auto& [own, m] : members)
    for (size_t r = shots; r < m.size(); ++r) {
      const float* q = &x[m[r] * dim];
      double z = 0, own_logit = 0;
      for (auto& [c, p] : proto) {
        const double logit = -scale * distance(kind, q, p);
        z += std::exp(logit);
        if (c == own) own_logit = logit;
      }
      sum += std::log(z) - own_logit;
      ++queries;
    }
  return sum / double(queries);
}

// `classes` x `per_class` samples of dimension `dim` around well-apart random centres, in
// an interleaved order (class ids c0 c1 c2 c0 c1 c2 ...): each class's samples appear in
// batch order, so its first `shots` are its supports.
using Batch = testing::MetricBatch;
Batch clustered(size_t classes, size_t per_class, size_t dim, uint32_t seed, float spread = 0.4f) {
  return testing::clustered_batch(classes, per_class, dim, seed, spread, [](size_t c) { return float(c + 3 * (c % 2)); });  // ids 0, 4, 2, 6, ...: not 0..C-1
}

double run(const Attributes& a, const Batch& b) { return testing::metric_loss("prototypical_loss", a, b); }

const std::string kDistances[] = {"sqeuclidean", "euclidean", "cosine"};

}  // namespace

TEST_CASE("prototypical_loss: op info, output shape and jit primitives") {
  testing::check_metric_loss_info("prototypical_loss", proto_attrs());
}

TEST_CASE("prototypical_loss: a batch worked by hand") {
  // Class 0: support (0, 0), query (1, 0); class 1: support (3, 0), query (2, 0); interleaved.
  // Each query is at 1 from its own prototype and at 2 from the other one.
  const Batch b{{0, 0, /**/ 3, 0, /**/ 2, 0, /**/ 1, 0}, {0, 1, 1, 0}, 2};
  CHECK(run(proto_attrs(), b) == doctest::Approx(std::log(1 + std::exp(-3.0))).epsilon(1e-6));  // sqeuclidean: 1 vs 4
  CHECK(run(proto_attrs("sqeuclidean", "1", "2"), b) == doctest::Approx(std::log(1 + std::exp(-6.0))).epsilon(1e-6));
  CHECK(run(proto_attrs("euclidean"), b) == doctest::Approx(std::log(1 + std::exp(-1.0))).epsilon(1e-6));
  // cosine, D = 1 (an embedding of shape [1] next to the class id is fine): the signs alone.
  const Batch line{{1, -2, 3, -0.5f}, {7, 9, 7, 9}, 1};  // class 7 positive, class 9 negative: cos = +-1
  CHECK(run(proto_attrs("cosine"), line) == doctest::Approx(std::log(1 + std::exp(-2.0))).epsilon(1e-6));
}

TEST_CASE("prototypical_loss: forward against a double-precision re-implementation") {
  for (const std::string& kind : kDistances)
  for (size_t shots : {1, 2}) {
    CAPTURE(kind);
    CAPTURE(shots);
    const std::string s = std::to_string(shots);
    {
      INFO("3 classes x 3 or 4, D = 4");
      const Batch b = clustered(3, shots + 2, 4, 11);
      CHECK(run(proto_attrs(kind.c_str(), s.c_str(), "1.5"), b) == doctest::Approx(reference(b.x, b.y, 4, shots, kind, 1.5)).epsilon(1e-5));
    }
    {
      INFO("20 classes x 6, D = 64 (uniform, not clustered)");
      Batch b = clustered(20, 6, 64, 5, 3.f);
      CHECK(run(proto_attrs(kind.c_str(), s.c_str()), b) == doctest::Approx(reference(b.x, b.y, 64, shots, kind, 1.0)).epsilon(1e-4));
    }
  }
}

TEST_CASE("prototypical_loss: finite-difference gradients reach queries and supports, every distance") {
  for (const std::string& kind : kDistances)
  for (size_t shots : {1, 2}) {
    CAPTURE(kind);
    CAPTURE(shots);
    const std::string s = std::to_string(shots);
    const Batch b = clustered(3, shots + 2, 4, 3, 0.8f);  // overlapping classes: no softmax saturates
    NodeHarness h(testing::registry(), "prototypical_loss", proto_attrs(kind.c_str(), s.c_str(), "2"), {{4}, {1}},
                  batch_of(int64_t(b.y.size()), {true, false}));
    h.set_input(0, b.x);
    h.set_input(1, b.y);
    auto r = h.check_gradients(1e-3);
    INFO(r.worst);
    CHECK(r.checked == b.x.size());
    CHECK(r.max_error < 1e-3);
  }
}

TEST_CASE("prototypical_loss: the gradient of the hand-worked batch, supports included") {
  // As above: s0 = (0, 0), s1 = (3, 0), q1 = (2, 0), q0 = (1, 0); sqeuclidean. With
  // e = e^-3 / (1 + e^-3) (the probability each query gives the wrong class):
  // dL/dq0 = 1/2 (e 2 (q0 - s0) - e 2 (q0 - s1)) = (3e, 0), and through the prototypes
  // dL/ds0 = 1/2 (-e 2 (q0 - s0) + e 2 (q1 - s0)) = (e, 0); by symmetry for class 1.
  NodeHarness h(testing::registry(), "prototypical_loss", proto_attrs(), {{2}, {1}}, batch_of(4, {true, false}));
  h.set_input(0, {0, 0, /**/ 3, 0, /**/ 2, 0, /**/ 1, 0});
  h.set_input(1, {0, 1, 1, 0});
  h.forward();
  h.backward({1});
  const double e = std::exp(-3.0) / (1 + std::exp(-3.0));
  const std::vector<double> expect{e, 0, /**/ -e, 0, /**/ -3 * e, 0, /**/ 3 * e, 0};
  const auto g = h.input_grad(0);
  for (size_t k = 0; k < expect.size(); ++k) {
    CAPTURE(k);
    CHECK(g[k] == doctest::Approx(expect[k]).epsilon(1e-5).scale(1e-6));
  }
  h.backward({2});  // dL/dloss scales it
  CHECK(h.input_grad(0)[0] == doctest::Approx(2 * e).epsilon(1e-5));
}

TEST_CASE("prototypical_loss: euclidean keeps a finite gradient where a query sits on its prototype") {
  // Query (1, 1) equals the support of its class: the distance is clamped, the gradient finite.
  const Batch b{{1, 1, /**/ 4, 0, /**/ 1, 1, /**/ 3, 1}, {0, 1, 0, 1}, 2};
  NodeHarness h(testing::registry(), "prototypical_loss", proto_attrs("euclidean"), {{2}, {1}}, batch_of(4, {true, false}));
  h.set_input(0, b.x);
  h.set_input(1, b.y);
  h.forward();
  CHECK(std::isfinite(h.output()[0]));
  h.backward({1});
  for (float g : h.input_grad(0)) CHECK(std::isfinite(g));
}

TEST_CASE("prototypical_loss: shuffling the batch keeps the loss while each class's supports stay first") {
  const size_t classes = 4, per_class = 5, shots = 2, dim = 6;
  const Batch b = clustered(classes, per_class, dim, 21, 0.9f);
  std::map<float, std::vector<size_t>> rows;  // per class, its rows in batch order
  for (size_t i = 0; i < b.y.size(); ++i) rows[b.y[i]].push_back(i);
  std::mt19937 rng(4);
  for (int trial = 0; trial < 5; ++trial) {
    CAPTURE(trial);
    // A random arrangement of the class slots; each class fills its slots supports first,
    // then its queries in a random order.
    std::vector<float> slots = b.y;
    std::shuffle(slots.begin(), slots.end(), rng);
    std::map<float, std::vector<size_t>> order = rows;
    for (auto& [c, r] : order) std::shuffle(r.begin() + shots, r.end(), rng);
    std::map<float, size_t> next;
    Batch p{{}, {}, dim};
    for (float c : slots) {
      const size_t src = order[c][next[c]++];
      p.x.insert(p.x.end(), b.x.begin() + long(src * dim), b.x.begin() + long((src + 1) * dim));
      p.y.push_back(c);
    }
    REQUIRE(p.x != b.x);
    CHECK(run(proto_attrs(nullptr, "2"), p) == doctest::Approx(run(proto_attrs(nullptr, "2"), b)).epsilon(1e-5));
  }
  // The convention matters: a query moved before a support of its class becomes a support.
  Batch swapped = b;
  std::swap_ranges(swapped.x.begin(), swapped.x.begin() + dim, swapped.x.begin() + long(rows[b.y[0]][3] * dim));
  CHECK(std::abs(run(proto_attrs(nullptr, "2"), swapped) - run(proto_attrs(nullptr, "2"), b)) > 1e-3);
}

TEST_CASE("prototypical_loss: gradient descent on the embeddings lowers the loss") {
  for (const std::string& kind : kDistances) {
    CAPTURE(kind);
    Batch b = clustered(4, 4, 8, 9, 1.5f);  // heavily overlapping classes
    const char* scale = kind == "cosine" ? "10" : "3";  // cosine logits span 2 scale only
    NodeHarness h(testing::registry(), "prototypical_loss", proto_attrs(kind.c_str(), "1", scale), {{8}, {1}},
                  batch_of(int64_t(b.y.size()), {true, false}));
    h.set_input(1, b.y);
    std::vector<float> x = b.x;
    double first = 0, last = 0;
    for (int step = 0; step < 30; ++step) {
      h.set_input(0, x);
      h.forward();
      last = h.output()[0];
      if (step == 0) first = last;
      h.backward({1});
      const auto g = h.input_grad(0);
      for (size_t k = 0; k < x.size(); ++k) x[k] -= 0.2f * g[k];
    }
    CAPTURE(first);
    CAPTURE(last);
    CHECK(first > 0.3);
    CHECK(last < 0.5 * first);
  }
}

TEST_CASE("prototypical_loss: batches that are not class-balanced are clear errors") {
  auto forward = [](const char* shots, std::vector<float> y) {
    const int64_t n = int64_t(y.size());
    NodeHarness h(testing::registry(), "prototypical_loss", proto_attrs(nullptr, shots), {{3}, {1}}, batch_of(n, {true, false}));
    h.set_input(1, y);
    h.forward();
  };
  CHECK_THROWS_WITH_AS(forward("1", {0, 0, 1, 1, 2}),
                       doctest::Contains("prototypical_loss: class 2 has 1 sample in the batch, but shots = 1 "
                                         "supports and at least one query need 2"),
                       Error);
  CHECK_THROWS_WITH_AS(forward("1", {0, 0, 1, 1, 2}), doctest::Contains("P >= 2 classes x K > shots samples"), Error);
  CHECK_THROWS_WITH_AS(forward("2", {0, 0, 0, 1, 1}), doctest::Contains("class 1 has 2 samples in the batch, but shots = 2"),
                       Error);
  CHECK_NOTHROW(forward("1", {0, 0, 1, 1}));
}

TEST_CASE("prototypical_loss: a batch of one class (the executor's warm-up batch) costs 0, with no gradient") {
  testing::check_single_class_batches("prototypical_loss", proto_attrs(nullptr, "2"), 5);
  // The same harness, fed a balanced batch afterwards, computes as usual.
  NodeHarness h(testing::registry(), "prototypical_loss", proto_attrs(), {{2}, {1}}, batch_of(4, {true, false}));
  h.set_input(0, {0, 0, /**/ 3, 0, /**/ 2, 0, /**/ 1, 0});
  h.set_input(1, {0, 0, 0, 0});
  h.forward();
  h.backward({1});
  h.set_input(1, {0, 1, 1, 0});
  h.forward();
  CHECK(h.output()[0] == doctest::Approx(std::log(1 + std::exp(-3.0))).epsilon(1e-6));
  h.backward({1});
  CHECK(h.input_grad(0)[0] == doctest::Approx(std::exp(-3.0) / (1 + std::exp(-3.0))).epsilon(1e-5));
}

TEST_CASE("prototypical_loss: bad class ids, swapped inputs and bad attributes are clear errors") {
  auto forward = [](std::vector<float> y) {
    NodeHarness h(testing::registry(), "prototypical_loss", proto_attrs(), {{3}, {1}}, batch_of(4, {true, false}));
    h.set_input(1, y);
    h.forward();
  };
  CHECK_THROWS_WITH_AS(forward({0, 0, 1.5f, 1}),
                       doctest::Contains("prototypical_loss: class id 1.5 of sample 2 is not a non-negative integer"), Error);
  CHECK_THROWS_WITH_AS(forward({0, -1, 1, 1}), doctest::Contains("prototypical_loss: class id -1 of sample 1"), Error);
  CHECK_THROWS_WITH_AS(forward({0, 0, 1, std::nanf("")}), doctest::Contains("prototypical_loss: class id nan of sample 3"), Error);
  CHECK_THROWS_WITH_AS(forward({INFINITY, 0, 1, 1}), doctest::Contains("prototypical_loss: class id inf of sample 0"), Error);

  auto make = [](const Attributes& a, std::vector<Shape> shapes) {
    NodeHarness h(testing::registry(), "prototypical_loss", a, shapes, batch_of(4, std::vector<bool>(shapes.size(), true)));
  };
  CHECK_THROWS_WITH_AS(make(proto_attrs(), {{1}, {64}}),
                       doctest::Contains("prototypical_loss takes the embeddings [D] as input 0 and the class id [1] as "
                                         "input 1, got [1] and [64]: are the inputs swapped?"),
                       Error);
  CHECK_THROWS_WITH_AS(make(proto_attrs(), {{64}, {2}}), doctest::Contains("prototypical_loss takes the embeddings"), Error);
  CHECK_THROWS_WITH_AS(make(proto_attrs(), {{4, 4}, {1}}), doctest::Contains("prototypical_loss needs rank-1 embeddings"), Error);
  CHECK_THROWS_WITH_AS(make(proto_attrs(), {{64}}), doctest::Contains("prototypical_loss takes 2 inputs"), Error);
  CHECK_THROWS_WITH_AS(make(proto_attrs(nullptr, "0"), {{4}, {1}}), doctest::Contains("attribute 'shots' must be an integer >= 1"),
                       Error);
  CHECK_THROWS_WITH_AS(make(proto_attrs(nullptr, "1.5"), {{4}, {1}}), doctest::Contains("attribute 'shots' expects an integer"),
                       Error);
  CHECK_THROWS_WITH_AS(make(proto_attrs(nullptr, nullptr, "0"), {{4}, {1}}),
                       doctest::Contains("attribute 'scale' must be a positive number"), Error);
  CHECK_THROWS_WITH_AS(make(proto_attrs("manhattan"), {{4}, {1}}),
                       doctest::Contains("must be one of sqeuclidean, euclidean, cosine"), Error);
}
