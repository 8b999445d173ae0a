#include <doctest/doctest.h>
#include <graphrun/error.hpp>
#include <graphrun/harness.hpp>

#include <algorithm>
#include <numeric>
#include <random>

#include "plugins.hpp"

using namespace graphrun;
using tag = dnnl::memory::format_tag;

namespace {

Attributes pool_attrs(std::initializer_list<std::pair<std::string, std::string>> scalars) {
  Attributes a("pool");
  for (const auto& [k, v] : scalars) a.set(k, v);
  return a;
}

std::vector<float> iota(size_t n) {
  std::vector<float> v(n);
  std::iota(v.begin(), v.end(), 1.f);
  return v;
}

// Distinct values 0.01 apart, shuffled: no two entries of a window are within the
// finite-difference step of each other, so the argmax of max pooling stays put.
std::vector<float> distinct(size_t n, uint32_t seed) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = -1.f + 0.01f * float(i);
  std::shuffle(v.begin(), v.end(), std::mt19937(seed));
  return v;
}

NodeHarness pool(const std::string& op, const Attributes& a, const Shape& in, int64_t batch = 1,
                 tag layout = tag::nchw) {
  NodeHarness::Options o;
  o.batch = batch;
  Shape full{batch};
  full.insert(full.end(), in.begin(), in.end());
  o.input_layouts = {dnnl::memory::desc(dnnl::memory::dims(full.begin(), full.end()), dnnl::memory::data_type::f32, layout)};
  return NodeHarness(testing::registry(), op, a, {in}, o);
}

}  // namespace

TEST_CASE("max_pool2d and avg_pool2d: 2x2 windows of a 4x4 image, by hand") {
  NodeHarness mx = pool("max_pool2d", {}, {1, 4, 4});
  NodeHarness avg = pool("avg_pool2d", {}, {1, 4, 4});
  REQUIRE(mx.output_shape() == Shape{1, 2, 2});
  mx.set_input(0, iota(16));  // rows 1..4, 5..8, 9..12, 13..16
  avg.set_input(0, iota(16));
  mx.forward();
  avg.forward();
  CHECK(mx.output() == std::vector<float>{6, 8, 14, 16});
  CHECK(avg.output() == std::vector<float>{3.5f, 5.5f, 11.5f, 13.5f});
}

TEST_CASE("max_pool2d and avg_pool2d: same padding on an odd image ignores the padding") {
  // 3x3 image, pool 2, stride 2: windows rows {0,1},{2} x cols {0,1},{2}; the padding row
  // and column are on the bottom/right and take no part in max or mean (Keras/TF).
  Attributes same = pool_attrs({{"padding", "same"}});
  NodeHarness mx = pool("max_pool2d", same, {1, 3, 3});
  NodeHarness avg = pool("avg_pool2d", same, {1, 3, 3});
  REQUIRE(mx.output_shape() == Shape{1, 2, 2});
  std::vector<float> x{-1, -2, -3, -4, -5, -6, -7, -8, -9};  // negative: a zero pad would win the max
  mx.set_input(0, x);
  avg.set_input(0, iota(9));
  mx.forward();
  avg.forward();
  CHECK(mx.output() == std::vector<float>{-1, -3, -7, -9});
  CHECK(avg.output() == std::vector<float>{3, 4.5f, 7.5f, 9});
}

TEST_CASE("max_pool2d: strides and pool size set separately, valid drops the remainder") {
  NodeHarness h = pool("max_pool2d", pool_attrs({{"pool_size", "3"}, {"strides", "2"}}), {2, 7, 6});
  CHECK(h.output_shape() == Shape{2, 3, 2});
  NodeHarness one = pool("avg_pool2d", pool_attrs({{"pool_size", "2"}, {"strides", "1"}}), {1, 3, 3});
  one.set_input(0, iota(9));
  one.forward();
  CHECK(one.output() == std::vector<float>{3, 4, 6, 7});
}

TEST_CASE("max_pool2d and avg_pool2d: gradients match finite differences in every layout") {
  struct Case {
    std::string name;
    Attributes attrs;
    Shape in;
  };
  Attributes rect("pool");
  rect.set("pool_size", Attributes::Value{{"3", "2"}, true, ""});
  rect.set("strides", Attributes::Value{{"2", "1"}, true, ""});
  rect.set("padding", "same");
  std::vector<Case> cases{
      {"2x2 valid", {}, {3, 6, 6}},
      {"3x3 stride 2 same, odd sizes", pool_attrs({{"pool_size", "3"}, {"strides", "2"}, {"padding", "same"}}), {4, 7, 5}},
      {"[3, 2] stride [2, 1] same", rect, {2, 5, 5}},
      {"2x2 valid, 16 channels", {}, {16, 5, 5}},
  };
  for (const std::string op : {"max_pool2d", "avg_pool2d"})
    for (auto& c : cases)
      for (tag layout : {tag::nchw, tag::nhwc, tag::nChw8c, tag::nChw16c}) {
        CAPTURE(op);
        CAPTURE(c.name);
        CAPTURE(int(layout));
        NodeHarness h = pool(op, c.attrs, c.in, 2, layout);
        for (const auto& impl : h.implementations()) CHECK_MESSAGE(impl.rfind("ref", 0) != 0, impl);
        h.set_input(0, distinct(size_t(2 * c.in[0] * c.in[1] * c.in[2]), 5));
        auto r = h.check_gradients(1e-3, 60);
        INFO("worst: " << r.worst);
        CHECK(r.checked > 0);
        CHECK(r.max_error < 1e-2);
      }
}

TEST_CASE("max_pool2d and avg_pool2d: bad attributes and shapes are clear errors") {
  auto make = [](const std::string& op, const Attributes& a, Shape in = {1, 4, 4}) { pool(op, a, in); };
  for (const std::string op : {"max_pool2d", "avg_pool2d"}) {
    CAPTURE(op);
    CHECK_THROWS_WITH_AS(make(op, pool_attrs({{"pool_size", "0"}})), doctest::Contains("'pool_size' must be positive"), Error);
    CHECK_THROWS_WITH_AS(make(op, pool_attrs({{"strides", "0"}})), doctest::Contains("'strides' must be positive"), Error);
    CHECK_THROWS_WITH_AS(make(op, pool_attrs({{"padding", "causal"}})), doctest::Contains("valid, same"), Error);
    CHECK_THROWS_WITH_AS(make(op, pool_attrs({{"pool_size", "5"}})), doctest::Contains("smaller than the pool [5, 5]"), Error);
    CHECK_THROWS_WITH_AS(NodeHarness(testing::registry(), op, {}, {{16}}, {}),
                         doctest::Contains("[channels, height, width]"), Error);
  }
}
