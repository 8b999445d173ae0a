#include <doctest/doctest.h>
#include <graphrun/error.hpp>
#include <graphrun/harness.hpp>

#include <cmath>
#include <string>

#include "plugins.hpp"

using namespace graphrun;

namespace {

Attributes activation_attrs(const std::string& function) {
  Attributes a("act");
  a.set("function", function);
  return a;
}

std::vector<float> apply(const std::string& function, const std::vector<float>& x, Shape shape) {
  NodeHarness::Options o;
  o.batch = 1;
  NodeHarness h(testing::registry(), "activation", activation_attrs(function), {shape}, o);
  h.set_input(0, x);
  h.forward();
  return h.output();
}

}  // namespace

TEST_CASE("activation: forward matches a hand computation") {
  const std::vector<float> x{-2.f, 0.f, 1.f};
  CHECK(apply("relu", x, {3}) == std::vector<float>{0.f, 0.f, 1.f});
  CHECK(apply("linear", x, {3}) == x);
  auto s = apply("sigmoid", x, {3});
  CHECK(s[0] == doctest::Approx(0.119203f).epsilon(1e-5));
  CHECK(s[1] == doctest::Approx(0.5f));
  CHECK(s[2] == doctest::Approx(0.731059f).epsilon(1e-5));
  auto t = apply("tanh", x, {3});
  CHECK(t[0] == doctest::Approx(-0.964028f).epsilon(1e-5));
  CHECK(t[1] == doctest::Approx(0.f));
  CHECK(t[2] == doctest::Approx(0.761594f).epsilon(1e-5));
  // softmax of [1, 2, 3] = [0.090031, 0.244728, 0.665241], per row of the last axis
  auto sm = apply("softmax", {1, 2, 3, 0, 0, 0}, {2, 3});
  const float expected[] = {0.090031f, 0.244728f, 0.665241f, 1 / 3.f, 1 / 3.f, 1 / 3.f};
  for (int i = 0; i < 6; ++i) CHECK(sm[i] == doctest::Approx(expected[i]).epsilon(1e-5));
}

TEST_CASE("activation: gradients match finite differences for every function") {
  for (std::string fn : {"linear", "relu", "sigmoid", "tanh", "softmax"}) {
    for (Shape shape : {Shape{6}, Shape{2, 3, 4}}) {
      CAPTURE(fn);
      CAPTURE(to_string(shape));
      NodeHarness::Options o;
      o.seed = 5;
      NodeHarness h(testing::registry(), "activation", activation_attrs(fn), {shape}, o);
      CHECK(h.output_shape() == shape);
      auto r = h.check_gradients(1e-3, 60);
      INFO(r.worst);
      CHECK(r.checked == std::min<size_t>(60, 3 * volume(shape)));
      CHECK(r.max_error < 1e-2);
      for (const auto& impl : h.implementations()) CHECK(impl.rfind("ref", 0) != 0);
    }
  }
}

TEST_CASE("activation: element-wise functions keep a blocked input layout") {
  const dnnl::memory::dims dims{2, 3, 4, 4};
  dnnl::memory::desc blocked(dims, dnnl::memory::data_type::f32, dnnl::memory::format_tag::nChw16c);
  for (std::string fn : {"relu", "tanh"}) {
    CAPTURE(fn);
    NodeHarness::Options o;
    o.batch = 2;
    o.input_layouts = {blocked};
    NodeHarness h(testing::registry(), "activation", activation_attrs(fn), {{3, 4, 4}}, o);
    h.forward();
    auto x = h.input(0), y = h.output();
    REQUIRE(x.size() == y.size());
    for (size_t i = 0; i < x.size(); ++i)
      CHECK(y[i] == doctest::Approx(fn == "relu" ? std::max(0.f, x[i]) : std::tanh(x[i])));
    auto r = h.check_gradients(1e-3, 40);
    INFO(r.worst);
    CHECK(r.max_error < 1e-2);
  }
}

TEST_CASE("activation: bad attributes are clear errors") {
  CHECK_THROWS_WITH_AS(NodeHarness(testing::registry(), "activation", activation_attrs("swish"), {{3}}, {}),
                       doctest::Contains("'function' must be one of linear, relu, sigmoid, tanh, softmax, got 'swish'"),
                       Error);
  CHECK_THROWS_WITH_AS(NodeHarness(testing::registry(), "activation", Attributes("act"), {{3}}, {}),
                       doctest::Contains("missing required attribute 'function'"), Error);
}
