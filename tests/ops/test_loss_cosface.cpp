#include <doctest/doctest.h>
#include <graphrun/error.hpp>
#include <graphrun/harness.hpp>
#include <graphrun/primitives.hpp>

#include "harness_options.hpp"
#include "plugins.hpp"
#include "random_params.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

using namespace graphrun;
using graphrun::testing::batch_of;

namespace {

Attributes cosface_attrs(const char* classes, const char* margin = nullptr, const char* scale = nullptr) {
  Attributes a("loss");
  if (classes) a.set("classes", classes);
  if (margin) a.set("margin", margin);
  if (scale) a.set("scale", scale);
  return a;
}

// The loss straight from its definition, in double precision.
double reference(const std::vector<float>& x, const std::vector<float>& y, const std::vector<float>& w, size_t dim,
                 size_t classes, double margin, double scale) {
  const size_t n = y.size();
  auto norm = [&](const float* v) {
    double s = 0;
    for (size_t k = 0; k < dim; ++k) s += double(v[k]) * v[k];
    return std::sqrt(s);
  };
  double sum = 0;
  for (size_t i = 0; i < n; ++i) {
    std::vector<double> z(classes);
    for (size_t c = 0; c < classes; ++c) {
      double dot = 0;
      for (size_t k = 0; k < dim; ++k) dot += double(x[i * dim + k]) * w[c * dim + k];
      z[c] = scale * (dot / (norm(&x[i * dim]) * norm(&w[c * dim])) - (c == size_t(y[i]) ? margin : 0.0));
    }
    double e = 0;
    for (double v : z) e += std::exp(v);
    sum += std::log(e) - z[size_t(y[i])];
  }
  return sum / double(n);
}

NodeHarness make(const Attributes& a, int64_t dim, int64_t batch) {
  return NodeHarness(testing::registry(), "cosface_loss", a, {{dim}, {1}}, batch_of(batch, {true, false}));
}

}  // namespace

TEST_CASE("cosface_loss: op info, its kernel, output shape and jit primitives") {
  const OpInfo* info = testing::registry().find("cosface_loss");
  REQUIRE(info != nullptr);
  CHECK(info->is_loss);
  CHECK(info->min_inputs == 2);
  CHECK(info->max_inputs == 2);
  NodeHarness h = make(cosface_attrs("30"), 384, 120);
  CHECK(h.output_shape() == Shape{});
  REQUIRE(h.param_specs().size() == 1);
  CHECK(h.param_specs()[0].name == "kernel");
  CHECK(h.param_specs()[0].dims == Shape{30, 384});
  const auto impls = h.implementations();
  CHECK(impls.size() == 3);  // cosines, and the two gradient products
  for (const auto& impl : impls) {
    CAPTURE(impl);
    CHECK_FALSE(is_reference(impl));
  }
}

TEST_CASE("cosface_loss: a batch worked by hand (D = 2, 2 classes)") {
  // Class directions (1, 0) and (0, 1). Sample 0 along (2, 0), class 0: cosines (1, 0).
  // Sample 1 along (1, 1), class 1: cosines (1/sqrt 2, 1/sqrt 2).
  NodeHarness h = make(cosface_attrs("2", "0.25", "4"), 2, 2);
  h.set_param(0, {3, 0, 0, 0.5f});  // norms do not matter
  h.set_input(0, {2, 0, 1, 1});
  h.set_input(1, {0, 1});
  h.forward();
  const double r = 1 / std::sqrt(2.0);
  // -log softmax of the own class: log(1 + exp(z_other - z_own)).
  const double l0 = std::log1p(std::exp(4 * 0.0 - 4 * (1 - 0.25)));
  const double l1 = std::log1p(std::exp(4 * r - 4 * (r - 0.25)));
  CHECK(h.output()[0] == doctest::Approx((l0 + l1) / 2).epsilon(1e-6));
}

TEST_CASE("cosface_loss: forward against a double-precision re-implementation") {
  for (const char* margin : {"0", "0.35"})
    for (const char* scale : {"1", "16", "64"}) {
      CAPTURE(margin);
      CAPTURE(scale);
      const size_t n = 12, dim = 7, classes = 5;
      NodeHarness h = make(cosface_attrs("5", margin, scale), dim, n);
      const std::vector<float> x = testing::uniform_values(n * dim, 3), w = testing::uniform_values(classes * dim, 4);
      std::vector<float> y(n);
      for (size_t i = 0; i < n; ++i) y[i] = float((i * 3) % classes);
      h.set_input(0, x);
      h.set_input(1, y);
      h.set_param(0, w);
      h.forward();
      CHECK(h.output()[0] == doctest::Approx(reference(x, y, w, dim, classes, std::stod(margin), std::stod(scale))).epsilon(1e-5));
    }
}

TEST_CASE("cosface_loss: finite-difference gradients of the embeddings and the kernel") {
  for (const char* scale : {"2", "8"}) {
    CAPTURE(scale);
    NodeHarness h = make(cosface_attrs("4", "0.3", scale), 5, 6);
    h.set_input(1, {0, 1, 2, 3, 1, 1});  // class 2 and 3 once each, class 1 three times
    auto r = h.check_gradients(1e-3);
    INFO(r.worst);
    CHECK(r.checked == 30 + 20);  // every embedding and kernel entry
    CHECK(r.max_error < 1e-3);
  }
}

TEST_CASE("cosface_loss: gradient descent on embeddings and kernel lowers the loss") {
  NodeHarness h = make(cosface_attrs("3", "0.35", "16"), 4, 9);
  std::vector<float> y(9);
  for (size_t i = 0; i < 9; ++i) y[i] = float(i % 3);
  h.set_input(1, y);
  h.forward();
  const float first = h.output()[0];
  float last = first;
  for (int step = 0; step < 50; ++step) {
    h.backward({1.f});
    std::vector<float> x = h.input(0), gx = h.input_grad(0), w = h.param(0), gw = h.param_grad(0);
    for (size_t k = 0; k < x.size(); ++k) x[k] -= 0.05f * gx[k];
    for (size_t k = 0; k < w.size(); ++k) w[k] -= 0.05f * gw[k];
    h.set_input(0, x);
    h.set_param(0, w);
    h.forward();
    last = h.output()[0];
  }
  CHECK(last < 0.5f * first);
}

TEST_CASE("cosface_loss: the class ids get no gradient; a batch of one class is fine") {
  NodeHarness h(testing::registry(), "cosface_loss", cosface_attrs("3"), {{4}, {1}}, batch_of(4, {true, true}));
  h.set_input(1, {2, 2, 2, 2});
  h.forward();
  CHECK(std::isfinite(h.output()[0]));
  h.backward({1.f});
  for (float g : h.input_grad(1)) CHECK(g == 0.f);
  double total = 0;
  for (float g : h.input_grad(0)) total += std::abs(g);
  CHECK(total > 0);
}

TEST_CASE("cosface_loss: bad class ids, swapped inputs and bad attributes") {
  auto forward = [](std::vector<float> y) {
    NodeHarness h = make(cosface_attrs("3"), 4, int64_t(y.size()));
    h.set_input(1, y);
    h.forward();
  };
  CHECK_NOTHROW(forward({0, 1, 2}));
  CHECK_THROWS_WITH_AS(forward({0, 3, 1}),
                       doctest::Contains("cosface_loss: class id 3 of sample 1 is not below classes: 3"), Error);
  CHECK_THROWS_WITH_AS(forward({0, 0.5f, 1}), doctest::Contains("cosface_loss: class id 0.5 of sample 1"), Error);
  CHECK_THROWS_WITH_AS(forward({0, -1, 1}), doctest::Contains("cosface_loss: class id -1 of sample 1"), Error);
  CHECK_THROWS_WITH_AS(forward({std::nanf(""), 0, 1}), doctest::Contains("cosface_loss: class id nan of sample 0"), Error);

  auto build = [](const Attributes& a, std::vector<Shape> shapes) {
    NodeHarness h(testing::registry(), "cosface_loss", a, shapes, batch_of(4, std::vector<bool>(shapes.size(), true)));
  };
  CHECK_THROWS_WITH_AS(build(cosface_attrs("3"), {{1}, {16}}), doctest::Contains("are the inputs swapped?"), Error);
  CHECK_THROWS_WITH_AS(build(cosface_attrs("3"), {{2, 4}, {1}}), doctest::Contains("cosface_loss needs rank-1 embeddings"),
                       Error);
  CHECK_THROWS_WITH_AS(build(cosface_attrs(nullptr), {{4}, {1}}), doctest::Contains("classes"), Error);
  CHECK_THROWS_WITH_AS(build(cosface_attrs("1"), {{4}, {1}}), doctest::Contains("attribute 'classes' must be at least 2"), Error);
  CHECK_THROWS_WITH_AS(build(cosface_attrs("3", "-0.1"), {{4}, {1}}), doctest::Contains("attribute 'margin' must be in [0, 2)"),
                       Error);
  CHECK_THROWS_WITH_AS(build(cosface_attrs("3", nullptr, "0"), {{4}, {1}}),
                       doctest::Contains("attribute 'scale' must be a positive number"), Error);
}
