#include <doctest/doctest.h>
#include <graphrun/error.hpp>
#include <graphrun/harness.hpp>

#include <cmath>
#include <string>

#include "plugins.hpp"

using namespace graphrun;

namespace {

Attributes dense_attrs(const std::string& units, const std::string& activation = "", bool use_bias = true) {
  Attributes a("fc");
  a.set("units", units);
  if (!activation.empty()) a.set("activation", activation);
  if (!use_bias) a.set("use_bias", "false");
  return a;
}

// x = [[1, 0, -1], [2, 1, 0]], W = [[1, 2, 3], [-1, 0, 1]], b = [0.5, -0.5]
// x W^T + b = [[-1.5, -2.5], [4.5, -2.5]]
std::vector<float> dense_by_hand(const std::string& activation, bool use_bias) {
  NodeHarness::Options o;
  o.batch = 2;
  NodeHarness h(testing::registry(), "dense", dense_attrs("2", activation, use_bias), {{3}}, o);
  h.set_input(0, {1, 0, -1, 2, 1, 0});
  h.set_param(0, {1, 2, 3, -1, 0, 1});
  if (use_bias) h.set_param(1, {0.5f, -0.5f});
  h.forward();
  return h.output();
}

}  // namespace

TEST_CASE("dense: forward matches a hand computation") {
  CHECK(dense_by_hand("", true) == std::vector<float>{-1.5f, -2.5f, 4.5f, -2.5f});
  CHECK(dense_by_hand("linear", false) == std::vector<float>{-2.f, -2.f, 4.f, -2.f});
  CHECK(dense_by_hand("relu", true) == std::vector<float>{0.f, 0.f, 4.5f, 0.f});

  auto sig = dense_by_hand("sigmoid", true);
  const float expected_sig[] = {0.182426f, 0.075858f, 0.989013f, 0.075858f};
  for (int i = 0; i < 4; ++i) CHECK(sig[i] == doctest::Approx(expected_sig[i]).epsilon(1e-5));

  auto th = dense_by_hand("tanh", true);
  const float expected_tanh[] = {-0.905148f, -0.986614f, 0.999753f, -0.986614f};
  for (int i = 0; i < 4; ++i) CHECK(th[i] == doctest::Approx(expected_tanh[i]).epsilon(1e-5));

  // softmax over each row: [-1.5, -2.5] -> [e/(e+1), 1/(e+1)]; [4.5, -2.5] -> [1/(1+e^-7), ...]
  auto sm = dense_by_hand("softmax", true);
  const float expected_sm[] = {0.731059f, 0.268941f, 0.999089f, 0.000911f};
  for (int i = 0; i < 4; ++i) CHECK(sm[i] == doctest::Approx(expected_sm[i]).epsilon(1e-4));
}

TEST_CASE("dense: parameters are a {units, in} kernel and a {units} bias") {
  NodeHarness h(testing::registry(), "dense", dense_attrs("4"), {{6}}, {});
  CHECK(h.output_shape() == Shape{4});
  REQUIRE(h.param_specs().size() == 2);
  const ParamSpec& k = h.param_specs()[0];
  CHECK(k.name == "kernel");
  CHECK(k.dims == Shape{4, 6});
  CHECK(k.default_init == "glorot_uniform");
  CHECK(k.fan_in == 6);
  CHECK(k.fan_out == 4);
  CHECK(h.param_specs()[1].name == "bias");
  CHECK(h.param_specs()[1].dims == Shape{4});
  CHECK(h.param_specs()[1].default_init == "zeros");

  NodeHarness no_bias(testing::registry(), "dense", dense_attrs("4", "relu", false), {{6}}, {});
  REQUIRE(no_bias.param_specs().size() == 1);
  CHECK(no_bias.param_specs()[0].name == "kernel");
}

TEST_CASE("dense: gradients match finite differences for every activation") {
  for (std::string fn : {"linear", "relu", "sigmoid", "tanh", "softmax"}) {
    for (bool use_bias : {true, false}) {
      CAPTURE(fn);
      CAPTURE(use_bias);
      NodeHarness::Options o;
      o.batch = 3;
      o.seed = 11;
      NodeHarness h(testing::registry(), "dense", dense_attrs("5", fn, use_bias), {{7}}, o);
      auto r = h.check_gradients(1e-3, 40);
      INFO(r.worst);
      CHECK(r.checked == 3u * 7 + 5 * 7 + (use_bias ? 5 : 0));  // every entry of x, kernel, bias
      CHECK(r.max_error < 1e-2);
      for (const auto& impl : h.implementations()) CHECK(impl.rfind("ref", 0) != 0);
    }
  }
}

TEST_CASE("dense: without an input gradient only parameter gradients are computed") {
  for (std::string fn : {"linear", "relu", "softmax"}) {
    CAPTURE(fn);
    NodeHarness::Options o;
    o.needs_input_grad = {false};
    NodeHarness h(testing::registry(), "dense", dense_attrs("4", fn), {{6}}, o);
    NodeHarness full(testing::registry(), "dense", dense_attrs("4", fn), {{6}}, {});
    // one primitive fewer: no backward data
    CHECK(h.implementations().size() + 1 == full.implementations().size());
    auto r = h.check_gradients(1e-3, 30);
    INFO(r.worst);
    CHECK(r.checked == 4u * 6 + 4);  // kernel and bias only
    CHECK(r.max_error < 1e-2);
  }
}

TEST_CASE("dense: backward overwrites gradients instead of adding to them") {
  NodeHarness h(testing::registry(), "dense", dense_attrs("3", "tanh"), {{4}}, {});
  std::vector<float> g(3 * 3, 0.5f);
  h.forward();
  h.backward(g);
  auto k1 = h.param_grad(0), b1 = h.param_grad(1), x1 = h.input_grad(0);
  h.backward(g);
  CHECK(h.param_grad(0) == k1);
  CHECK(h.param_grad(1) == b1);
  CHECK(h.input_grad(0) == x1);
}

TEST_CASE("dense: bad attributes and inputs are clear errors") {
  CHECK_THROWS_WITH_AS(NodeHarness(testing::registry(), "dense", dense_attrs("0"), {{3}}, {}),
                       doctest::Contains("attribute 'units' must be a positive integer, got 0"), Error);
  CHECK_THROWS_WITH_AS(NodeHarness(testing::registry(), "dense", dense_attrs("-2"), {{3}}, {}),
                       doctest::Contains("'units' must be a positive integer"), Error);
  Attributes missing("fc");
  CHECK_THROWS_WITH_AS(NodeHarness(testing::registry(), "dense", missing, {{3}}, {}),
                       doctest::Contains("missing required attribute 'units'"), Error);
  CHECK_THROWS_WITH_AS(NodeHarness(testing::registry(), "dense", dense_attrs("4", "gelu"), {{3}}, {}),
                       doctest::Contains("'activation' must be one of linear, relu, sigmoid, tanh, softmax, got 'gelu'"),
                       Error);
  CHECK_THROWS_WITH_AS(NodeHarness(testing::registry(), "dense", dense_attrs("4"), {{1, 28, 28}}, {}),
                       doctest::Contains("got [1, 28, 28]; add a flatten node"), Error);
}
