// graphrun's own conv2d kernels against oneDNN's on the same layers: the one-channel
// kernels (forced nchw for oneDNN) and the matrix-product data gradient.
#include <doctest/doctest.h>
#include <graphrun/harness.hpp>

#include <algorithm>
#include <cmath>

#include "conv_layers.hpp"
#include "cpu_features.hpp"
#include "plugins.hpp"

using namespace graphrun;
using namespace graphrun::testing;
using tag = dnnl::memory::format_tag;

TEST_CASE("conv2d: graphrun's one-channel kernels agree with oneDNN's (forced nchw)") {
  struct Case {
    std::string name;
    Shape in;
    std::string filters, kernel;
    std::vector<std::pair<std::string, std::string>> extra;
    bool blocked = false;  // many filters: channel-blocked forward and weight gradient
  };
  std::vector<Case> cases{
      {"R4 conv1: 1 -> 4, 5x5, tanh", {1, 28, 28}, "4", "5", {{"activation", "tanh"}}},
      {"1 -> 6, 3x3 same, relu, 20 wide", {1, 11, 20}, "6", "3", {{"activation", "relu"}, {"padding", "same"}}},
      {"1 -> 8, 3x4, no bias", {1, 9, 17}, "8", "[3, 4]", {{"use_bias", "false"}}},
      {"R1 conv1: 1 -> 32, 3x3", {1, 28, 28}, "32", "3", {}, true},
      {"1 -> 16, 3x3 same, relu, no bias, 7 wide", {1, 10, 7}, "16", "3",
       {{"activation", "relu"}, {"padding", "same"}, {"use_bias", "false"}}, true},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    NodeHarness::Options o;
    o.batch = 5;
    Attributes auto_attrs = conv_attrs(c.filters, c.kernel), forced = conv_attrs(c.filters, c.kernel, {{"layout", "nchw"}});
    for (const auto& [k, v] : c.extra) {
      auto_attrs.set(k, attribute_value(v));
      forced.set(k, attribute_value(v));
    }
    NodeHarness own(testing::registry(), "conv2d", auto_attrs, {c.in}, o);
    NodeHarness dnnl(testing::registry(), "conv2d", forced, {c.in}, o);
    const auto impls = own.implementations();
    // Channel-blocked kernels exist for the vector widths oneDNN blocks by (AVX2, AVX-512).
    const int blocked = c.blocked && testing::has_avx2() ? 2 : 0;
    CHECK(std::count(impls.begin(), impls.end(), "graphrun:one_channel_blocked") == blocked);
    if (!c.blocked) CHECK(std::count(impls.begin(), impls.end(), "graphrun:one_channel") == 3);  // every pass
    dnnl.set_input(0, own.input(0));
    for (size_t i = 0; i < own.param_specs().size(); ++i) dnnl.set_param(i, own.param(i));
    own.forward();
    dnnl.forward();
    auto close = [](const std::vector<float>& a, const std::vector<float>& b) {
      REQUIRE(a.size() == b.size());
      for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(1e-4).scale(1));
    };
    close(own.output(), dnnl.output());
    std::vector<float> dy = own.output();
    for (size_t i = 0; i < dy.size(); ++i) dy[i] = std::sin(float(i));
    own.backward(dy);
    dnnl.backward(dy);
    close(own.input_grad(0), dnnl.input_grad(0));
    for (size_t i = 0; i < own.param_specs().size(); ++i) close(own.param_grad(i), dnnl.param_grad(i));
  }
}

// Few input channels, channels-last, stride 1, valid: the data gradient is a matrix
// product and a patch scatter (gemm_data_gradient.hpp). It agrees with oneDNN's (forced
// nchw) on R4's second layer and on a non-square kernel, with batches that split unevenly
// into chunks, and with finite differences.
TEST_CASE("conv2d: the matrix-product data gradient agrees with oneDNN's") {
  struct Case {
    Shape in;
    std::string filters, kernel;
    int64_t batch;
  };
  for (const Case& c : {Case{{4, 12, 12}, "16", "5", 11}, Case{{3, 7, 10}, "5", "[3, 2]", 3}}) {
    CAPTURE(c.in);
    NodeHarness::Options o;
    o.batch = c.batch;
    o.input_layouts = {layout({c.batch, c.in[0], c.in[1], c.in[2]}, tag::nhwc)};
    auto make = [&](const std::string& layout_attr) {
      return NodeHarness(testing::registry(), "conv2d",
                         conv_attrs(c.filters, c.kernel, {{"layout", layout_attr}, {"activation", "tanh"}}), {c.in}, o);
    };
    NodeHarness mine = make("auto"), onednn = make("nchw");
    const auto impls = mine.implementations();
    CHECK(std::count(impls.begin(), impls.end(), "graphrun:gemm_data_gradient") == 1);
    for (size_t i = 0; i < 2; ++i) onednn.set_param(i, mine.param(i));
    onednn.set_input(0, mine.input(0));
    mine.forward();
    onednn.forward();
    const size_t n = mine.output().size();
    std::vector<float> dy = iota(n, -1.f, 2.f / float(n));
    mine.backward(dy);
    onednn.backward(dy);
    const std::vector<float> a = mine.input_grad(0), b = onednn.input_grad(0);
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) REQUIRE(a[i] == doctest::Approx(b[i]).epsilon(1e-4).scale(1.0));
  }
  NodeHarness::Options o;
  o.batch = 2;
  o.input_layouts = {layout({2, 2, 6, 5}, tag::nhwc)};
  NodeHarness h(testing::registry(), "conv2d", conv_attrs("3", "3", {{"activation", "tanh"}}), {{2, 6, 5}}, o);
  const auto impls = h.implementations();
  REQUIRE(std::count(impls.begin(), impls.end(), "graphrun:gemm_data_gradient") == 1);
  auto r = h.check_gradients(1e-2, 60);
  INFO("worst: " << r.worst);
  CHECK(r.checked > 0);
  CHECK(r.max_error < 1e-2);
}
