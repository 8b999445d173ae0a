// Every conv2d implementation, forced with the `implementation` and `data_gradient`
// attributes, against oneDNN forced for every pass: forward output, data gradient and
// weight gradients agree on layers where the implementation applies, whatever the rule
// would choose on this machine (odd sizes, batches that are not a multiple of any
// blocking). And a forced implementation that cannot apply is a clear error.
#include <doctest/doctest.h>
#include <graphrun/error.hpp>
#include <graphrun/harness.hpp>

#include <algorithm>
#include <cmath>

#include "plugins.hpp"

using namespace graphrun;

namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

Attributes attrs(const std::string& filters, const std::string& kernel, const Pairs& more) {
  Attributes a("conv");
  a.set("filters", filters);
  if (kernel[0] == '[') {
    Attributes::Value v{{}, true, ""};
    v.items = {kernel.substr(1, kernel.find(',') - 1), kernel.substr(kernel.find(',') + 2, 1)};
    a.set("kernel_size", v);
  } else {
    a.set("kernel_size", kernel);
  }
  for (const auto& [k, v] : more) a.set(k, v);
  return a;
}

struct Layer {
  std::string name;
  Shape in;
  std::string filters, kernel;
  Pairs extra;
  int64_t batch;
};

void close(const std::vector<float>& a, const std::vector<float>& b, const char* what) {
  INFO(what);
  REQUIRE(a.size() == b.size());
  size_t bad = 0;
  for (size_t i = 0; i < a.size(); ++i) bad += !(std::abs(a[i] - b[i]) <= 1e-4 * std::max({1.f, std::abs(a[i]), std::abs(b[i])}));
  CHECK_MESSAGE(bad == 0, bad << " of " << a.size() << " values differ");
}

// `forced` (implementation and/or data_gradient) on `layer` against oneDNN's; `expect`
// must be among the implementations it reports (so the forced one really ran).
void agree(const Layer& layer, const Pairs& forced, const std::string& expect) {
  CAPTURE(layer.name);
  NodeHarness::Options o;
  o.batch = layer.batch;
  Pairs mine = layer.extra, ref = layer.extra;
  mine.insert(mine.end(), forced.begin(), forced.end());
  ref.insert(ref.end(), {{"implementation", "onednn"}, {"data_gradient", "onednn"}});
  NodeHarness h(testing::registry(), "conv2d", attrs(layer.filters, layer.kernel, mine), {layer.in}, o);
  NodeHarness d(testing::registry(), "conv2d", attrs(layer.filters, layer.kernel, ref), {layer.in}, o);
  const auto impls = h.implementations(), ref_impls = d.implementations();
  std::string all;
  for (const auto& i : impls) all += i + " ";
  INFO("implementations: " << all);
  CHECK(std::find(impls.begin(), impls.end(), expect) != impls.end());
  for (const auto& i : ref_impls) CHECK(i.rfind("graphrun:", 0) != 0);
  // Small weights and a non-zero bias keep the outputs O(1) and every bias used.
  std::vector<float> w = h.param(0);
  for (auto& x : w) x *= 0.3f;
  h.set_param(0, w);
  if (h.param_specs().size() > 1) {
    std::vector<float> b(size_t(h.param_specs()[1].dims[0]));
    for (size_t i = 0; i < b.size(); ++i) b[i] = 0.1f * std::cos(float(i));
    h.set_param(1, b);
  }
  d.set_input(0, h.input(0));
  for (size_t i = 0; i < h.param_specs().size(); ++i) d.set_param(i, h.param(i));
  h.forward();
  d.forward();
  close(h.output(), d.output(), "forward");
  std::vector<float> dy = h.output();
  for (size_t i = 0; i < dy.size(); ++i) dy[i] = std::sin(float(i));
  h.backward(dy);
  d.backward(dy);
  close(h.input_grad(0), d.input_grad(0), "data gradient");
  close(h.param_grad(0), d.param_grad(0), "kernel gradient");
  if (h.param_specs().size() > 1) close(h.param_grad(1), d.param_grad(1), "bias gradient");
}

const std::vector<Layer> kOneChannel{
    {"R4 conv1: 1 -> 4, 5x5, tanh", {1, 28, 28}, "4", "5", {{"activation", "tanh"}}, 5},
    {"1 -> 9, 3x4, no bias, odd sizes", {1, 9, 17}, "9", "[3, 4]", {{"use_bias", "false"}}, 3},
    {"1 -> 16, 3x3 same, sigmoid", {1, 10, 7}, "16", "3", {{"padding", "same"}, {"activation", "sigmoid"}}, 7},
};

}  // namespace

TEST_CASE("conv2d implementation one_channel agrees with oneDNN") {
  for (const Layer& l : kOneChannel) agree(l, {{"implementation", "one_channel"}}, "graphrun:one_channel");
}

TEST_CASE("conv2d data_gradient one_channel agrees with oneDNN, at any stride") {
  const std::vector<Layer> layers{
      kOneChannel[0],
      {"1 -> 3, [3, 2] same, stride 2", {1, 7, 6}, "3", "[3, 2]", {{"strides", "2"}, {"padding", "same"}}, 3},
      {"1 -> 32, 3x3 valid, stride 2, tanh", {1, 13, 11}, "32", "3", {{"strides", "2"}, {"activation", "tanh"}}, 5},
  };
  for (const Layer& l : layers)
    agree(l, {{"implementation", "onednn"}, {"data_gradient", "one_channel"}}, "graphrun:one_channel");
}

TEST_CASE("conv2d implementation one_channel_blocked agrees with oneDNN") {
  const std::vector<Layer> layers{
      {"R1 conv1: 1 -> 32, 3x3", {1, 28, 28}, "32", "3", {}, 5},
      {"1 -> 16, 3x3 same, relu, no bias, 7 wide", {1, 10, 7}, "16", "3",
       {{"activation", "relu"}, {"padding", "same"}, {"use_bias", "false"}}, 3},
      {"1 -> 48, 3x3, tanh, odd sizes", {1, 9, 13}, "48", "3", {{"activation", "tanh"}}, 1},
  };
  for (const Layer& l : layers)
    agree(l, {{"implementation", "one_channel_blocked"}}, "graphrun:one_channel_blocked");
}

TEST_CASE("conv2d implementation winograd agrees with oneDNN") {
  const std::vector<Layer> layers{
      {"16 -> 24, 7x9 valid, relu", {16, 7, 9}, "24", "3", {{"activation", "relu"}}, 7},
      {"16 -> 24, 5x6 same", {16, 5, 6}, "24", "3", {{"padding", "same"}}, 7},
      {"3 -> 5, 6x5 same, tanh, no bias", {3, 6, 5}, "5", "3", {{"padding", "same"}, {"activation", "tanh"}, {"use_bias", "false"}}, 3},
      {"1 -> 4, 8x8 valid", {1, 8, 8}, "4", "3", {}, 2},
  };
  for (const Layer& l : layers) agree(l, {{"implementation", "winograd"}}, "graphrun:winograd_f2x2");
}

TEST_CASE("conv2d data_gradient gemm agrees with oneDNN") {
  const std::vector<Layer> layers{
      {"R4 conv2: 4 -> 16, 5x5, tanh", {4, 12, 12}, "16", "5", {{"activation", "tanh"}}, 11},
      {"3 -> 5, [3, 2]", {3, 7, 10}, "5", "[3, 2]", {}, 3},
      {"24 -> 8, 3x3 (more channels than the rule gives it)", {24, 6, 7}, "8", "3", {{"activation", "relu"}}, 5},
      {"1 -> 6, 1x1 same (no padding)", {1, 5, 5}, "6", "1", {{"padding", "same"}}, 2},
  };
  for (const Layer& l : layers) agree(l, {{"data_gradient", "gemm"}}, "graphrun:gemm_data_gradient");
}

TEST_CASE("conv2d: a forced implementation that cannot apply is a clear error") {
  auto make = [](Shape in, const std::string& filters, const std::string& kernel, const Pairs& more) {
    NodeHarness::Options o;
    o.batch = 2;
    NodeHarness(testing::registry(), "conv2d", attrs(filters, kernel, more), {in}, o);
  };
  CHECK_THROWS_WITH_AS(make({3, 8, 8}, "4", "3", {{"implementation", "one_channel"}}),
                       doctest::Contains("implementation: one_channel cannot compute this layer (it needs one input "
                                         "channel, the layer has 3); choose auto or one of onednn, one_channel, "
                                         "one_channel_blocked, winograd"),
                       Error);
  CHECK_THROWS_WITH_AS(make({1, 8, 8}, "4", "3", {{"implementation", "one_channel"}, {"strides", "2"}}),
                       doctest::Contains("need stride 1"), Error);
  CHECK_THROWS_WITH_AS(make({1, 8, 8}, "12", "3", {{"implementation", "one_channel_blocked"}}),
                       doctest::Contains("filters a multiple of the CPU's vector width"), Error);
  CHECK_THROWS_WITH_AS(make({16, 8, 8}, "16", "5", {{"implementation", "winograd"}}),
                       doctest::Contains("implementation: winograd cannot compute this layer (it needs a 3x3 kernel at stride 1)"),
                       Error);
  CHECK_THROWS_WITH_AS(make({16, 8, 8}, "16", "3", {{"implementation", "winograd"}, {"layout", "nchw"}}),
                       doctest::Contains("channels-last"), Error);
  CHECK_THROWS_WITH_AS(make({4, 8, 8}, "4", "3", {{"data_gradient", "gemm"}, {"padding", "same"}}),
                       doctest::Contains("data_gradient: gemm cannot compute this layer (it needs no padding); choose "
                                         "auto or one of onednn, one_channel, winograd, gemm"),
                       Error);
  CHECK_THROWS_WITH_AS(make({1, 8, 8}, "4", "3", {{"data_gradient", "gemm"}, {"implementation", "one_channel"}}),
                       doctest::Contains("channels-last forward"), Error);
  CHECK_THROWS_WITH_AS(make({4, 8, 8}, "4", "3", {{"data_gradient", "winograd"}}),
                       doctest::Contains("it needs implementation: winograd"), Error);
  CHECK_THROWS_WITH_AS(make({4, 8, 8}, "4", "3", {{"implementation", "winograd"}, {"data_gradient", "onednn"}}),
                       doctest::Contains("computes the data gradient itself"), Error);
  CHECK_THROWS_WITH_AS(make({4, 8, 8}, "4", "3", {{"data_gradient", "one_channel"}}),
                       doctest::Contains("it needs one input channel, the layer has 4"), Error);
  CHECK_THROWS_WITH_AS(make({4, 8, 8}, "4", "3", {{"implementation", "winogard"}}),
                       doctest::Contains("'implementation' must be one of"), Error);
  CHECK_THROWS_WITH_AS(make({4, 8, 8}, "4", "3", {{"data_gradient", "direct"}}),
                       doctest::Contains("'data_gradient' must be one of"), Error);
}
