#include <doctest/doctest.h>
#include <graphrun/error.hpp>
#include <graphrun/harness.hpp>

#include "plugins.hpp"

#include <cmath>

using namespace graphrun;

namespace {
NodeHarness::Options loss_options(int64_t n) {
  NodeHarness::Options o;
  o.batch = n;
  o.needs_input_grad = {true, false};
  return o;
}

const std::vector<float> kProbs{0.7f, 0.2f, 0.1f, /**/ 0.1f, 0.3f, 0.6f, /**/ 0.25f, 0.5f, 0.25f};
const std::vector<float> kIndex{0, 2, 1};
const std::vector<float> kOneHot{1, 0, 0, /**/ 0, 0, 1, /**/ 0, 1, 0};
const double kExpect = -(std::log(0.7) + std::log(0.6) + std::log(0.5)) / 3;
}  // namespace

TEST_CASE("categorical_crossentropy: class-index and one-hot labels give -mean(log p[class])") {
  NodeHarness by_index(testing::registry(), "categorical_crossentropy", Attributes("l"), {{3}, {1}}, loss_options(3));
  CHECK(by_index.output_shape() == Shape{});
  by_index.set_input(0, kProbs);
  by_index.set_input(1, kIndex);
  by_index.forward();
  CHECK(by_index.output()[0] == doctest::Approx(kExpect).epsilon(1e-6));
  by_index.backward({1});

  NodeHarness one_hot(testing::registry(), "categorical_crossentropy", Attributes("l"), {{3}, {3}}, loss_options(3));
  one_hot.set_input(0, kProbs);
  one_hot.set_input(1, kOneHot);
  one_hot.forward();
  CHECK(one_hot.output()[0] == doctest::Approx(kExpect).epsilon(1e-6));
  one_hot.backward({1});

  const std::vector<double> expect{-1 / (3 * 0.7), 0, 0, 0, 0, -1 / (3 * 0.6), 0, -1 / (3 * 0.5), 0};
  const auto gi = by_index.input_grad(0), go = one_hot.input_grad(0);
  for (size_t k = 0; k < expect.size(); ++k) {
    CAPTURE(k);
    CHECK(gi[k] == doctest::Approx(expect[k]));
    CHECK(go[k] == doctest::Approx(expect[k]));
  }
}

TEST_CASE("categorical_crossentropy: a zero probability is clipped to 1e-7 and has no gradient") {
  NodeHarness h(testing::registry(), "categorical_crossentropy", Attributes("l"), {{2}, {1}}, loss_options(2));
  h.set_input(0, {0.0f, 1.0f, /**/ 0.5f, 0.5f});
  h.set_input(1, {0, 1});
  h.forward();
  CHECK(h.output()[0] == doctest::Approx(-(std::log(1e-7) + std::log(0.5)) / 2).epsilon(1e-5));
  h.backward({1});
  CHECK(h.input_grad(0)[0] == 0.f);
  CHECK(h.input_grad(0)[3] == doctest::Approx(-1 / (2 * 0.5)));
}

TEST_CASE("categorical_crossentropy: finite-difference gradients, both label forms") {
  const std::vector<float> probs{0.2f, 0.5f, 0.3f, 0.6f, /**/ 0.1f, 0.15f, 0.7f, 0.4f, /**/ 0.35f, 0.25f, 0.2f, 0.45f};
  SUBCASE("class index") {
    NodeHarness h(testing::registry(), "categorical_crossentropy", Attributes("l"), {{4}, {1}}, loss_options(3));
    h.set_input(0, probs);
    h.set_input(1, {1, 3, 0});
    auto r = h.check_gradients(1e-3);
    INFO(r.worst);
    CHECK(r.checked == 12);
    CHECK(r.max_error < 1e-2);
  }
  SUBCASE("soft one-hot") {
    NodeHarness h(testing::registry(), "categorical_crossentropy", Attributes("l"), {{4}, {4}}, loss_options(3));
    h.set_input(0, probs);
    h.set_input(1, {0, 1, 0, 0, /**/ 0, 0, 0.5f, 0.5f, /**/ 0.25f, 0.25f, 0.25f, 0.25f});
    auto r = h.check_gradients(1e-3);
    INFO(r.worst);
    CHECK(r.checked == 12);
    CHECK(r.max_error < 1e-2);
  }
}

TEST_CASE("categorical_crossentropy: finite-difference gradient of a label read from a node") {
  const std::vector<float> probs{0.2f, 0.5f, 0.3f, /**/ 0.1f, 0.15f, 0.75f};
  NodeHarness::Options o = loss_options(2);
  o.needs_input_grad = {true, true};
  SUBCASE("one-hot: -log p / batch") {
    NodeHarness h(testing::registry(), "categorical_crossentropy", Attributes("l"), {{3}, {3}}, o);
    h.set_input(0, probs);
    h.set_input(1, {0, 1, 0, /**/ 0.5f, 0, 0.5f});
    auto r = h.check_gradients(1e-3);
    INFO(r.worst);
    CHECK(r.checked == 12);
    CHECK(r.max_error < 1e-2);
  }
  SUBCASE("class index: 0, as it stays the same class nearby") {
    NodeHarness h(testing::registry(), "categorical_crossentropy", Attributes("l"), {{3}, {1}}, o);
    h.set_input(0, probs);
    h.set_input(1, {2, 0});
    auto r = h.check_gradients(1e-4);
    INFO(r.worst);
    CHECK(r.checked == 8);
    CHECK(r.max_error < 1e-2);
    CHECK(h.input_grad(1) == std::vector<float>{0, 0});
  }
}

TEST_CASE("categorical_crossentropy: bad labels and shapes are clear errors") {
  CHECK_THROWS_WITH_AS(
      NodeHarness(testing::registry(), "categorical_crossentropy", Attributes("l"), {{10}, {2}}, loss_options(1)),
      doctest::Contains("got prediction [10] and label [2]"), Error);
  CHECK_THROWS_WITH_AS(
      NodeHarness(testing::registry(), "categorical_crossentropy", Attributes("l"), {{2, 5}, {1}}, loss_options(1)),
      doctest::Contains("rank-1 prediction"), Error);
  NodeHarness h(testing::registry(), "categorical_crossentropy", Attributes("l"), {{3}, {1}}, loss_options(2));
  h.set_input(0, {0.2f, 0.3f, 0.5f, 0.2f, 0.3f, 0.5f});
  h.set_input(1, {1, 3});
  CHECK_THROWS_WITH_AS(h.forward(), doctest::Contains("label 3.000000 of sample 1 is not a class index in [0, 3)"),
                       Error);
  Attributes a("l");
  a.set("eps", "-1");
  CHECK_THROWS_WITH_AS(NodeHarness(testing::registry(), "categorical_crossentropy", a, {{3}, {1}}, loss_options(1)),
                       doctest::Contains("attribute 'eps' must be in (0, 0.5)"), Error);
}
