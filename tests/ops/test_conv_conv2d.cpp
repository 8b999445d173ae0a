#include <doctest/doctest.h>
#include <graphrun/error.hpp>
#include <graphrun/harness.hpp>

#include <algorithm>
#include <cmath>

#include "conv_layers.hpp"
#include "cpu_features.hpp"
#include "plugins.hpp"

using namespace graphrun;
using namespace graphrun::testing;
using tag = dnnl::memory::format_tag;

TEST_CASE("conv2d: valid 2x2 kernel on a 3x3 image, by hand") {
  NodeHarness::Options o;
  o.batch = 1;
  NodeHarness h(testing::registry(), "conv2d", conv_attrs("1", "2"), {{1, 3, 3}}, o);
  REQUIRE(h.output_shape() == Shape{1, 2, 2});
  h.set_input(0, iota(9));            // 1 2 3 / 4 5 6 / 7 8 9
  h.set_param(0, {1, 2, 3, 4});       // kernel [[1, 2], [3, 4]]
  h.set_param(1, {0.5f});             // bias
  h.forward();
  // 1*1 + 2*2 + 3*4 + 4*5 = 37, then each step right adds 10, each step down 30.
  CHECK(h.output() == std::vector<float>{37.5f, 47.5f, 67.5f, 77.5f});
}

TEST_CASE("conv2d: same padding with stride 2 pads only right and bottom when the total is odd") {
  NodeHarness::Options o;
  o.batch = 1;
  NodeHarness h(testing::registry(), "conv2d",
                conv_attrs("1", "3", {{"strides", "2"}, {"padding", "same"}, {"use_bias", "false"}}), {{1, 4, 4}}, o);
  REQUIRE(h.output_shape() == Shape{1, 2, 2});
  REQUIRE(h.param_specs().size() == 1u);
  h.set_input(0, iota(16));  // rows 1..4, 5..8, 9..12, 13..16
  h.set_param(0, std::vector<float>(9, 1.f));
  h.forward();
  // Windows start at rows/cols 0 and 2; the fifth row/column is padding.
  // (1+2+3+5+6+7+9+10+11), (3+4+7+8+11+12), (9+10+11+13+14+15), (11+12+15+16)
  CHECK(h.output() == std::vector<float>{54, 45, 72, 54});
}

TEST_CASE("conv2d: channels, filters, bias and activations, by hand") {
  // Two channels of a 1x2 image: c0 = [1, -2], c1 = [3, 4]; 1x1 kernels f0 = [1, 1],
  // f1 = [1, -1]; bias [0, 0.5]. Pre-activations: f0 = [4, 2], f1 = [-1.5, -5.5].
  const std::vector<float> z{4, 2, -1.5f, -5.5f};
  for (std::string act : {"linear", "relu", "tanh", "sigmoid"}) {
    CAPTURE(act);
    NodeHarness::Options o;
    o.batch = 1;
    NodeHarness h(testing::registry(), "conv2d", conv_attrs("2", "1", {{"activation", act}}), {{2, 1, 2}}, o);
    h.set_input(0, {1, -2, 3, 4});
    h.set_param(0, {1, 1, 1, -1});
    h.set_param(1, {0, 0.5f});
    h.forward();
    std::vector<float> out = h.output();
    REQUIRE(out.size() == 4u);
    for (size_t i = 0; i < 4; ++i) {
      float want = z[i];
      if (act == "relu") want = std::max(0.f, z[i]);
      if (act == "tanh") want = std::tanh(z[i]);
      if (act == "sigmoid") want = 1.f / (1.f + std::exp(-z[i]));
      CHECK(out[i] == doctest::Approx(want).epsilon(1e-5));
    }
  }
}

TEST_CASE("conv2d: parameters follow Keras (fans, initialisers)") {
  NodeHarness h(testing::registry(), "conv2d", conv_attrs("6", "[3, 2]"), {{4, 9, 9}}, {});
  CHECK(h.output_shape() == Shape{6, 7, 8});
  const auto& p = h.param_specs();
  REQUIRE(p.size() == 2u);
  CHECK(p[0].name == "kernel");
  CHECK(p[0].dims == Shape{6, 4, 3, 2});
  CHECK(p[0].default_init == "glorot_uniform");
  CHECK(p[0].fan_in == 4 * 3 * 2);
  CHECK(p[0].fan_out == 6 * 3 * 2);
  CHECK(p[1].name == "bias");
  CHECK(p[1].dims == Shape{6});
  CHECK(p[1].default_init == "zeros");
}

TEST_CASE("conv2d: gradients match finite differences") {
  struct Case {
    std::string name;
    Shape in;
    Attributes attrs;
    tag input_layout;
    bool input_grad;
  };
  std::vector<Case> cases{
      {"valid tanh, nchw", {2, 5, 5}, conv_attrs("3", "3", {{"activation", "tanh"}}), tag::nchw, true},
      {"valid tanh, nhwc", {2, 5, 5}, conv_attrs("3", "3", {{"activation", "tanh"}}), tag::nhwc, true},
      {"same stride 2 odd sizes, nchw", {3, 7, 6}, conv_attrs("4", "[3, 2]", {{"strides", "2"}, {"padding", "same"}, {"activation", "sigmoid"}}), tag::nchw, true},
      {"same stride 2 odd sizes, nChw16c in", {3, 7, 6}, conv_attrs("4", "[3, 2]", {{"strides", "2"}, {"padding", "same"}, {"activation", "sigmoid"}}), tag::nChw16c, true},
      {"same stride [2, 1] kernel 4 (pad 1 left, 2 right)", {2, 5, 7}, conv_attrs("2", "4", {{"padding", "same"}, {"strides", "[2, 1]"}}), tag::nchw, true},
      {"valid stride 2 with a remainder", {2, 8, 7}, conv_attrs("3", "3", {{"strides", "2"}, {"activation", "tanh"}}), tag::nchw, true},
      {"relu, no bias, nhwc", {2, 6, 6}, conv_attrs("3", "3", {{"activation", "relu"}, {"use_bias", "false"}}), tag::nhwc, true},
      {"16 -> 16 blocked, nChw16c", {16, 5, 5}, conv_attrs("16", "3", {{"activation", "tanh"}, {"padding", "same"}}), tag::nChw16c, true},
      {"16 -> 16 blocked, nChw8c", {16, 5, 5}, conv_attrs("16", "3", {{"activation", "tanh"}, {"padding", "same"}}), tag::nChw8c, true},
      {"16 -> 16 blocked, nchw", {16, 5, 5}, conv_attrs("16", "3", {{"activation", "relu"}}), tag::nchw, true},
      {"first layer 1 -> 16, no input gradient", {1, 8, 8}, conv_attrs("16", "3", {{"activation", "tanh"}}), tag::nchw, false},
      {"first layer 1 -> 4, no input gradient", {1, 8, 8}, conv_attrs("4", "5", {{"activation", "tanh"}}), tag::nchw, false},
      {"one input channel, data gradient computed directly (R4 conv1)", {1, 8, 8}, conv_attrs("4", "5", {{"activation", "tanh"}}), tag::nchw, true},
      {"one input channel, same padding, stride 2", {1, 7, 6}, conv_attrs("3", "[3, 2]", {{"strides", "2"}, {"padding", "same"}}), tag::nhwc, true},
      {"one input channel, 16 filters", {1, 6, 6}, conv_attrs("16", "3", {{"activation", "sigmoid"}}), tag::nchw, true},
      {"one input channel, same padding, two vectors per row", {1, 5, 21}, conv_attrs("3", "3", {{"padding", "same"}, {"activation", "tanh"}}), tag::nchw, true},
      {"one input channel, 8 + 1 filters, 3x5 kernel, no bias", {1, 6, 9}, conv_attrs("9", "[3, 5]", {{"use_bias", "false"}}), tag::nchw, true},
      {"16 -> 32 3x3: Winograd forward and weight gradient", {16, 6, 6}, conv_attrs("32", "3", {{"activation", "tanh"}}), tag::nChw16c, true},
      // The fallback layouts, forced: nchw (gemm, plain weights, relu not fused) and blocked.
      {"forced nchw, relu", {2, 6, 5}, conv_attrs("3", "3", {{"activation", "relu"}, {"layout", "nchw"}}), tag::nchw, true},
      {"forced nchw, same stride 2, tanh", {3, 7, 6}, conv_attrs("4", "[3, 2]", {{"strides", "2"}, {"padding", "same"}, {"activation", "tanh"}, {"layout", "nchw"}}), tag::nhwc, true},
      {"forced blocked, sigmoid", {3, 6, 6}, conv_attrs("5", "3", {{"activation", "sigmoid"}, {"layout", "blocked"}}), tag::nchw, true},
  };
  for (auto& c : cases) {
    CAPTURE(c.name);
    NodeHarness::Options o;
    o.batch = 2;
    Shape full{o.batch};
    full.insert(full.end(), c.in.begin(), c.in.end());
    o.input_layouts = {layout(full, c.input_layout)};
    o.needs_input_grad = {c.input_grad};
    NodeHarness h(testing::registry(), "conv2d", c.attrs, {c.in}, o);
    if (c.attrs.text("layout", "auto") == "auto")  // a forced layout may well be a reference kernel
      for (const auto& impl : h.implementations()) CHECK_MESSAGE(impl.rfind("ref", 0) != 0, impl);
    // Small kernels keep the outputs O(1) so that float rounding stays below the tolerance.
    std::vector<float> w = h.param(0);
    for (auto& x : w) x *= 0.3f;
    if (c.attrs.text("activation", "linear") == "relu") {
      // Keep every pre-activation away from relu's kink: positive inputs, filters all
      // positive (active) or all negative (inactive), no bias.
      std::vector<float> x = h.input(0);
      for (auto& v : x) v = 0.2f + 0.8f * std::abs(v);
      h.set_input(0, x);
      const size_t per_filter = w.size() / h.param_specs()[0].dims[0];
      for (size_t k = 0; k < w.size(); ++k) w[k] = ((k / per_filter) % 2 ? -1.f : 1.f) * (0.05f + std::abs(w[k]));
      if (h.param_specs().size() > 1) h.set_param(1, std::vector<float>(h.param_specs()[1].dims[0], 0.f));
    }
    h.set_param(0, w);
    auto r = h.check_gradients(1e-2, 60);
    INFO("worst: " << r.worst);
    CHECK(r.checked > 0);
    CHECK(r.max_error < 1e-2);
  }
}

TEST_CASE("conv2d: forced Winograd runs every pass on a 3x3 layer, else one clear error") {
  NodeHarness::Options o;
  o.batch = 2;
  o.input_layouts = {layout({2, 16, 6, 6}, testing::native_blocked_tag())};
  Attributes forced = conv_attrs("16", "3", {{"algorithm", "winograd"}});
  NodeHarness h(testing::registry(), "conv2d", forced, {{16, 6, 6}}, o);
  const auto impls = h.implementations();
  if (testing::has_avx512_core())  // oneDNN's, next to its weight reorders
    CHECK(std::count_if(impls.begin(), impls.end(), [](const std::string& i) { return i.find("wino") != std::string::npos; }) >= 2);
  else  // graphrun's, every pass
    CHECK(std::count(impls.begin(), impls.end(), "graphrun:winograd_f2x2") == 3);
  std::vector<float> w = h.param(0);
  for (auto& x : w) x *= 0.3f;
  h.set_param(0, w);
  auto r = h.check_gradients(1e-2, 60);
  INFO("worst: " << r.worst);
  CHECK(r.checked > 0);
  CHECK(r.max_error < 1e-2);
  if (testing::has_avx512_core()) return;
  // graphrun's own Winograd is F(2x2, 3x3): other kernels have none on AVX2.
  o.input_layouts = {layout({2, 16, 8, 8}, testing::native_blocked_tag())};
  CHECK_THROWS_WITH_AS(
      NodeHarness(testing::registry(), "conv2d", conv_attrs("16", "5", {{"algorithm", "winograd"}}), {{16, 8, 8}}, o),
      doctest::Contains("no Winograd convolution for input [16, 8, 8] on this machine"), Error);
}

// Same inputs, weights and output gradient through Winograd and the direct algorithm:
// outputs and all gradients agree. Output sizes that are not whole tiles leave part-empty
// tiles, "same" padding reads outside the image, and 7 images split unevenly into chunks.
TEST_CASE("conv2d: Winograd and direct agree in every pass") {
  for (const Shape& in : {Shape{16, 7, 9}, Shape{16, 5, 6}})
  for (const std::string padding : {"valid", "same"}) {
    CAPTURE(in);
    CAPTURE(padding);
    NodeHarness::Options o;
    o.batch = 7;
    o.input_layouts = {layout({7, in[0], in[1], in[2]}, tag::nhwc)};
    auto make = [&](const std::string& algorithm) {
      return NodeHarness(testing::registry(), "conv2d",
                         conv_attrs("24", "3", {{"algorithm", algorithm}, {"padding", padding}, {"activation", "relu"}}),
                         {in}, o);
    };
    NodeHarness wino = make("winograd"), direct = make("direct");
    for (size_t i = 0; i < 2; ++i) direct.set_param(i, wino.param(i));
    std::vector<float> bias = iota(24, -0.5f, 0.04f);
    wino.set_param(1, bias);
    direct.set_param(1, bias);
    direct.set_input(0, wino.input(0));
    wino.forward();
    direct.forward();
    std::vector<float> y = wino.output(), want = direct.output();
    REQUIRE(y.size() == want.size());
    for (size_t i = 0; i < y.size(); ++i) REQUIRE(y[i] == doctest::Approx(want[i]).epsilon(1e-4));
    std::vector<float> dy = iota(y.size(), -1.f, 2.f / float(y.size()));
    wino.backward(dy);
    direct.backward(dy);
    auto agree = [](const std::vector<float>& a, const std::vector<float>& b) {
      REQUIRE(a.size() == b.size());
      for (size_t i = 0; i < a.size(); ++i) REQUIRE(a[i] == doctest::Approx(b[i]).epsilon(1e-4).scale(1.0));
    };
    agree(wino.input_grad(0), direct.input_grad(0));
    agree(wino.param_grad(0), direct.param_grad(0));
    agree(wino.param_grad(1), direct.param_grad(1));
  }
}

// Winograd kernels: oneDNN's exist only for AVX-512 (forward and weight gradient taken);
// elsewhere graphrun's run every pass.
TEST_CASE("conv2d: auto runs Winograd on R1's 32 -> 64 3x3 layer") {
  NodeHarness::Options o;
  o.batch = 8;
  o.input_layouts = {layout({8, 32, 13, 13}, tag::nChw16c)};
  NodeHarness h(testing::registry(), "conv2d", conv_attrs("64", "3"), {{32, 13, 13}}, o);
  std::string all;
  for (const auto& impl : h.implementations()) all += impl + " ";
  INFO(all);
  int wino = 0;
  for (const auto& impl : h.implementations()) {
    wino += impl.find("wino") != std::string::npos;
    CHECK(impl.rfind("ref", 0) != 0);
  }
  CHECK(wino == (testing::has_avx512_core() ? 2 : 3));
  Attributes direct = conv_attrs("64", "3", {{"algorithm", "direct"}});
  NodeHarness d(testing::registry(), "conv2d", direct, {{32, 13, 13}}, o);
  for (const auto& impl : d.implementations()) CHECK(impl.find("wino") == std::string::npos);
}

TEST_CASE("conv2d: bad attributes and shapes are clear errors") {
  auto make = [](Attributes a, Shape in = {1, 8, 8}) { NodeHarness(testing::registry(), "conv2d", a, {in}, {}); };
  Attributes no_filters("conv");
  no_filters.set("kernel_size", "3");
  CHECK_THROWS_WITH_AS(make(no_filters), doctest::Contains("missing required attribute 'filters'"), Error);
  Attributes no_kernel("conv");
  no_kernel.set("filters", "3");
  CHECK_THROWS_WITH_AS(make(no_kernel), doctest::Contains("'kernel_size' is required"), Error);
  CHECK_THROWS_WITH_AS(make(conv_attrs("0", "3")), doctest::Contains("'filters' must be positive"), Error);
  CHECK_THROWS_WITH_AS(make(conv_attrs("2", "0")), doctest::Contains("'kernel_size' must be positive"), Error);
  CHECK_THROWS_WITH_AS(make(conv_attrs("2", "[3, 3, 3]")), doctest::Contains("[height, width]"), Error);
  CHECK_THROWS_WITH_AS(make(conv_attrs("2", "3", {{"strides", "-1"}})), doctest::Contains("'strides' must be positive"), Error);
  CHECK_THROWS_WITH_AS(make(conv_attrs("2", "3", {{"padding", "full"}})), doctest::Contains("valid, same"), Error);
  CHECK_THROWS_WITH_AS(make(conv_attrs("2", "3", {{"activation", "softmax"}})), doctest::Contains("'activation' must be one of"), Error);
  CHECK_THROWS_WITH_AS(make(conv_attrs("2", "3", {{"layout", "nChw8c"}})), doctest::Contains("'layout' must be one of"), Error);
  CHECK_THROWS_WITH_AS(make(conv_attrs("2", "3", {{"use_bias", "maybe"}})), doctest::Contains("true or false"), Error);
  CHECK_THROWS_WITH_AS(make(conv_attrs("2", "3"), {64}), doctest::Contains("[channels, height, width]"), Error);
  CHECK_THROWS_WITH_AS(make(conv_attrs("2", "9"), {1, 8, 8}), doctest::Contains("smaller than the kernel [9, 9]"), Error);
}
