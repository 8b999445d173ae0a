#include <doctest/doctest.h>
#include <graphrun/error.hpp>
#include <graphrun/harness.hpp>

#include <cmath>
#include <string>

#include "plugins.hpp"

using namespace graphrun;

namespace {

Attributes dropout_attrs(const std::string& rate) {
  Attributes a("drop");
  a.set("rate", rate);
  return a;
}

}  // namespace

TEST_CASE("dropout: training drops about `rate` of the values and scales the rest") {
  NodeHarness::Options o;
  o.batch = 10;
  o.seed = 42;
  NodeHarness h(testing::registry(), "dropout", dropout_attrs("0.3"), {{10000}}, o);
  h.forward();
  auto x = h.input(0), y = h.output();
  size_t zeros = 0, badly_scaled = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    if (y[i] == 0.f)
      ++zeros;
    else if (std::abs(y[i] - x[i] / 0.7f) > 1e-6f)
      ++badly_scaled;
  }
  CHECK(badly_scaled == 0u);
  CHECK(double(zeros) / y.size() == doctest::Approx(0.3).epsilon(0.03));  // 100k draws: sd 0.0015

  // backward: diff_in = diff_out * mask / (1 - rate), the mask of the forward
  std::vector<float> g(y.size(), 1.f);
  h.backward(g);
  auto dx = h.input_grad(0);
  size_t wrong_grads = 0;
  for (size_t i = 0; i < y.size(); ++i)
    if (std::abs(dx[i] - (y[i] == 0.f ? 0.f : 1 / 0.7f)) > 1e-6f) ++wrong_grads;
  CHECK(wrong_grads == 0u);
}

TEST_CASE("dropout: the mask depends only on the seed") {
  auto run = [](uint64_t seed) {
    NodeHarness::Options o;
    o.seed = seed;
    NodeHarness h(testing::registry(), "dropout", dropout_attrs("0.5"), {{200}}, o);
    h.set_input(0, std::vector<float>(3 * 200, 1.f));
    h.forward();
    auto first = h.output();
    h.forward();
    CHECK(h.output() == first);
    return first;
  };
  CHECK(run(7) == run(7));
  CHECK(run(7) != run(8));
}

TEST_CASE("dropout: gradients match finite differences with a fixed seed") {
  for (std::string rate : {"0.5", "0.1", "0"}) {
    CAPTURE(rate);
    NodeHarness::Options o;
    o.seed = 3;
    NodeHarness h(testing::registry(), "dropout", dropout_attrs(rate), {{4, 5}}, o);
    auto r = h.check_gradients(1e-3, 60);
    INFO(r.worst);
    CHECK(r.checked == 60u);
    CHECK(r.max_error < 1e-2);
    for (const auto& impl : h.implementations()) CHECK(impl.rfind("ref", 0) != 0);
  }
}

TEST_CASE("dropout: evaluation and rate 0 are the identity") {
  for (const auto& [r, m] : {std::pair<std::string, Mode>{"0.5", Mode::eval}, {"0", Mode::train}}) {
    const std::string rate = r;
    CAPTURE(rate);
    NodeHarness::Options o;
    o.mode = m;
    NodeHarness h(testing::registry(), "dropout", dropout_attrs(rate), {{50}}, o);
    h.forward();
    CHECK(h.output() == h.input(0));
    std::vector<float> g(3 * 50);
    for (size_t i = 0; i < g.size(); ++i) g[i] = float(i);
    h.backward(g);
    CHECK(h.input_grad(0) == g);
  }
}

TEST_CASE("dropout: a blocked input keeps its layout and is masked consistently") {
  NodeHarness::Options o;
  o.batch = 2;
  o.input_layouts = {dnnl::memory::desc({2, 3, 4, 4}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::nChw16c)};
  NodeHarness h(testing::registry(), "dropout", dropout_attrs("0.5"), {{3, 4, 4}}, o);
  h.forward();
  auto x = h.input(0), y = h.output();
  size_t zeros = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    if (y[i] == 0.f) ++zeros;
    else CHECK(y[i] == doctest::Approx(2 * x[i]));
  }
  CHECK(zeros > 0);
  CHECK(zeros < y.size());
  auto r = h.check_gradients(1e-3, 40);
  INFO(r.worst);
  CHECK(r.max_error < 1e-2);
}

TEST_CASE("dropout: a rate outside [0, 1) is a clear error") {
  for (std::string rate : {"1.5", "1", "-0.1"}) {
    CAPTURE(rate);
    const std::string expected = "attribute 'rate' must be in [0, 1), got " + rate;
    CHECK_THROWS_WITH_AS(NodeHarness(testing::registry(), "dropout", dropout_attrs(rate), {{3}}, {}),
                         doctest::Contains(expected.c_str()), Error);
  }
  CHECK_THROWS_WITH_AS(NodeHarness(testing::registry(), "dropout", dropout_attrs("half"), {{3}}, {}),
                       doctest::Contains("'rate' expects a number"), Error);
  CHECK_THROWS_WITH_AS(NodeHarness(testing::registry(), "dropout", Attributes("drop"), {{3}}, {}),
                       doctest::Contains("missing required attribute 'rate'"), Error);
}
