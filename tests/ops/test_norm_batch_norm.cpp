#include <doctest/doctest.h>
#include <graphrun/error.hpp>
#include <graphrun/harness.hpp>

#include <algorithm>
#include <cmath>

#include "plugins.hpp"

using namespace graphrun;
using tag = dnnl::memory::format_tag;

namespace {

Attributes bn_attrs(std::initializer_list<std::pair<std::string, std::string>> scalars = {}) {
  Attributes a("bn");
  for (const auto& [k, v] : scalars) a.set(k, v);
  return a;
}

NodeHarness::Options options(int64_t batch, Mode mode, const Shape& in, tag layout = tag::undef) {
  NodeHarness::Options o;
  o.batch = batch;
  o.mode = mode;
  if (layout != tag::undef) {
    Shape full{batch};
    full.insert(full.end(), in.begin(), in.end());
    o.input_layouts = {dnnl::memory::desc(dnnl::memory::dims(full.begin(), full.end()), dnnl::memory::data_type::f32, layout)};
  }
  return o;
}

void check_close(const std::vector<float>& got, const std::vector<float>& want, double eps = 1e-5) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    CAPTURE(i);
    CHECK(got[i] == doctest::Approx(want[i]).epsilon(eps));
  }
}

}  // namespace

TEST_CASE("batch_norm: parameters are gamma, beta and the moving statistics (state)") {
  NodeHarness h(testing::registry(), "batch_norm", bn_attrs(), {{4, 6, 6}}, {});
  CHECK(h.output_shape() == Shape{4, 6, 6});
  const auto& p = h.param_specs();
  REQUIRE(p.size() == 4u);
  CHECK(p[0].name == "gamma");
  CHECK(p[0].default_init == "ones");
  CHECK(p[0].kind == ParamSpec::Kind::weight);
  CHECK(p[1].name == "beta");
  CHECK(p[1].default_init == "zeros");
  CHECK(p[2].name == "moving_mean");
  CHECK(p[2].default_init == "zeros");
  CHECK(p[2].kind == ParamSpec::Kind::state);
  CHECK(p[3].name == "moving_variance");
  CHECK(p[3].default_init == "ones");
  CHECK(p[3].kind == ParamSpec::Kind::state);
  for (const auto& s : p) CHECK(s.dims == Shape{4});

  NodeHarness bare(testing::registry(), "batch_norm", bn_attrs({{"center", "false"}, {"scale", "false"}}), {{5}}, {});
  REQUIRE(bare.param_specs().size() == 2u);
  CHECK(bare.param_specs()[0].name == "moving_mean");
}

TEST_CASE("batch_norm 1d train: batch statistics and the Keras moving-average update, by hand") {
  // Batch of 4 samples with 2 features: feature 0 = 1, 2, 3, 4 (mean 2.5, biased variance
  // 1.25); feature 1 = 10, 20, 30, 40 (mean 25, variance 125).
  NodeHarness h(testing::registry(), "batch_norm", bn_attrs(), {{2}}, options(4, Mode::train, {2}));
  h.set_input(0, {1, 10, 2, 20, 3, 30, 4, 40});
  h.set_param(0, {2, 0.5f});   // gamma
  h.set_param(1, {0.5f, -1});  // beta
  h.set_param(2, {0.5f, 1});   // moving_mean
  h.set_param(3, {2, 3});      // moving_variance
  h.forward();
  const float s0 = 2 / std::sqrt(1.25f + 1e-3f), s1 = 0.5f / std::sqrt(125.f + 1e-3f);
  check_close(h.output(), {-1.5f * s0 + 0.5f, -15 * s1 - 1, -0.5f * s0 + 0.5f, -5 * s1 - 1,
                           0.5f * s0 + 0.5f, 5 * s1 - 1, 1.5f * s0 + 0.5f, 15 * s1 - 1});
  // moving = 0.99 * moving + 0.01 * batch; [D] inputs use the biased variance (Keras's
  // non-fused path).
  check_close(h.param(2), {0.99f * 0.5f + 0.01f * 2.5f, 0.99f * 1 + 0.01f * 25});
  check_close(h.param(3), {0.99f * 2 + 0.01f * 1.25f, 0.99f * 3 + 0.01f * 125});
}

TEST_CASE("batch_norm 2d train: per-channel statistics, unbiased variance in the moving average") {
  // 2 samples of [2 channels, 1, 2]: channel 0 sees 1, 2, 3, 4 (mean 2.5, variance 1.25,
  // unbiased 5/3); channel 1 sees 0, 0, 4, 8 (mean 3, variance 11, unbiased 44/3).
  for (tag layout : {tag::nchw, tag::nhwc, tag::nChw16c}) {
    CAPTURE(int(layout));
    NodeHarness h(testing::registry(), "batch_norm", bn_attrs({{"momentum", "0.9"}, {"epsilon", "0.01"}}),
                  {{2, 1, 2}}, options(2, Mode::train, {2, 1, 2}, layout));
    h.set_input(0, {1, 2, 0, 0, 3, 4, 4, 8});
    h.set_param(0, {1, 1});
    h.set_param(1, {0, 0});
    h.set_param(2, {0, 0});
    h.set_param(3, {1, 1});
    h.forward();
    const float a = 1 / std::sqrt(1.25f + 0.01f), b = 1 / std::sqrt(11.f + 0.01f);
    check_close(h.output(), {-1.5f * a, -0.5f * a, -3 * b, -3 * b, 0.5f * a, 1.5f * a, 1 * b, 5 * b});
    check_close(h.param(2), {0.1f * 2.5f, 0.1f * 3});
    check_close(h.param(3), {0.9f + 0.1f * 5 / 3, 0.9f + 0.1f * 44 / 3});
  }
}

TEST_CASE("batch_norm eval: moving statistics normalise and stay unchanged") {
  NodeHarness h(testing::registry(), "batch_norm", bn_attrs(), {{2, 1, 1}}, options(2, Mode::eval, {2, 1, 1}, tag::nhwc));
  h.set_input(0, {1, 2, 3, 4});
  h.set_param(0, {2, 1});
  h.set_param(1, {0, 1});
  h.set_param(2, {1, 2});
  h.set_param(3, {4, 9});
  h.forward();
  const float a = 2 / std::sqrt(4 + 1e-3f), b = 1 / std::sqrt(9 + 1e-3f);
  check_close(h.output(), {0 * a, 0 * b + 1, 2 * a, 2 * b + 1});
  check_close(h.param(2), {1, 2});
  check_close(h.param(3), {4, 9});
}

TEST_CASE("batch_norm: gradients match finite differences, train and eval, every layout") {
  struct Case {
    std::string name;
    Shape in;
    Attributes attrs;
    Mode mode;
    tag layout;
    bool input_grad = true;
  };
  std::vector<Case> cases{
      {"1d train", {3}, bn_attrs(), Mode::train, tag::undef},
      {"1d eval", {3}, bn_attrs(), Mode::eval, tag::undef},
      {"1d train, one feature", {1}, bn_attrs(), Mode::train, tag::undef},
      {"2d train nchw", {3, 3, 2}, bn_attrs(), Mode::train, tag::nchw},
      {"2d train nhwc", {3, 3, 2}, bn_attrs(), Mode::train, tag::nhwc},
      {"2d train nChw16c", {3, 3, 2}, bn_attrs(), Mode::train, tag::nChw16c},
      {"2d eval nchw", {3, 3, 2}, bn_attrs(), Mode::eval, tag::nchw},
      {"2d eval nChw16c", {3, 3, 2}, bn_attrs(), Mode::eval, tag::nChw16c},
      {"2d train without scale", {3, 2, 2}, bn_attrs({{"scale", "false"}}), Mode::train, tag::nchw},
      {"2d train without center", {3, 2, 2}, bn_attrs({{"center", "false"}}), Mode::train, tag::nhwc},
      {"2d train without parameters", {3, 2, 2}, bn_attrs({{"center", "false"}, {"scale", "false"}}), Mode::train, tag::nchw},
      {"2d train, first layer (no input gradient)", {1, 4, 4}, bn_attrs(), Mode::train, tag::nchw, false},
      {"2d eval, first layer (no input gradient)", {1, 4, 4}, bn_attrs(), Mode::eval, tag::nchw, false},
      {"1d train, fused relu", {3}, bn_attrs({{"activation", "relu"}}), Mode::train, tag::undef},
      {"2d train nChw16c, fused relu", {3, 3, 2}, bn_attrs({{"activation", "relu"}}), Mode::train, tag::nChw16c},
      {"2d eval nhwc, fused relu", {3, 3, 2}, bn_attrs({{"activation", "relu"}}), Mode::eval, tag::nhwc},
  };
  for (auto& c : cases) {
    CAPTURE(c.name);
    NodeHarness::Options o = options(4, c.mode, c.in, c.layout);
    o.needs_input_grad = {c.input_grad};
    NodeHarness h(testing::registry(), "batch_norm", c.attrs, {c.in}, o);
    for (const auto& impl : h.implementations()) CHECK_MESSAGE(impl.rfind("ref", 0) != 0, impl);
    const auto& specs = h.param_specs();
    for (size_t i = 0; i < specs.size(); ++i)
      if (specs[i].name == "moving_variance") {  // the harness's random fill may be negative
        std::vector<float> v = h.param(i);
        for (auto& x : v) x = 0.5f + std::abs(x);
        h.set_param(i, v);
      }
    // A smaller step with the fused relu: an output within 1e-2 of the kink spoils the
    // difference quotient.
    auto r = h.check_gradients(c.attrs.has("activation") ? 1e-3 : 1e-2, 60);
    INFO("worst: " << r.worst);
    CHECK(r.checked > 0);
    CHECK(r.max_error < 1e-2);
  }
}

TEST_CASE("batch_norm: a fused relu gives relu of the unfused output, and masks the gradient") {
  for (Mode mode : {Mode::train, Mode::eval}) {
    CAPTURE(int(mode));
    const Shape in{2, 2, 3};
    NodeHarness plain(testing::registry(), "batch_norm", bn_attrs(), {in}, options(4, mode, in, tag::nchw));
    NodeHarness fused(testing::registry(), "batch_norm", bn_attrs({{"activation", "relu"}}), {in},
                      options(4, mode, in, tag::nchw));
    fused.set_input(0, plain.input(0));
    for (size_t i = 0; i < plain.param_specs().size(); ++i) {
      std::vector<float> v = plain.param(i);
      if (plain.param_specs()[i].name == "moving_variance")
        for (auto& x : v) x = 0.5f + std::abs(x);
      plain.set_param(i, v);
      fused.set_param(i, v);
    }
    plain.forward();
    fused.forward();
    std::vector<float> want = plain.output(), dy(want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      dy[i] = want[i] > 0 ? 1.f : 0.f;  // the relu's gradient mask, applied by hand
      want[i] = std::max(want[i], 0.f);
    }
    check_close(fused.output(), want);
    CHECK(std::count(dy.begin(), dy.end(), 0.f) > 0);  // some outputs are cut by the relu
    plain.backward(dy);
    fused.backward(std::vector<float>(dy.size(), 1.f));
    check_close(fused.input_grad(0), plain.input_grad(0), 1e-4);
    check_close(fused.param_grad(0), plain.param_grad(0), 1e-4);  // gamma
    check_close(fused.param_grad(1), plain.param_grad(1), 1e-4);  // beta
  }
}

TEST_CASE("batch_norm: stacked tower uses (batch_groups) are normalised apart") {
  struct Case {
    Shape in;
    tag layout;
    std::vector<std::pair<std::string, std::string>> attrs;
  };
  // One-channel nchw images take the channels view (one pass, the uses as channels).
  const std::vector<Case> cases{{{3, 2, 2}, tag::nchw, {{"activation", "relu"}}},
                                {{3, 2, 2}, tag::nhwc, {{"activation", "relu"}}},
                                {{3, 2, 2}, tag::nChw16c, {{"activation", "relu"}}},
                                {{1, 3, 4}, tag::nchw, {{"activation", "relu"}}},
                                {{1, 3, 4}, tag::nchw, {}},
                                {{1, 3, 4}, tag::nchw, {{"scale", "false"}}}};
  for (const Case& c : cases) {
    const tag layout = c.layout;
    CAPTURE(int(layout));
    CAPTURE(to_string(c.in));
    CAPTURE(c.attrs.size());
    const Shape in = c.in;
    NodeHarness::Options both = options(8, Mode::train, in, layout);
    both.batch_groups = 2;
    Attributes attrs = bn_attrs();
    for (const auto& [k, v] : c.attrs) attrs.set(k, v);
    NodeHarness stacked(testing::registry(), "batch_norm", attrs, {in}, both);
    NodeHarness first(testing::registry(), "batch_norm", attrs, {in}, options(4, Mode::train, in, layout));
    NodeHarness second(testing::registry(), "batch_norm", attrs, {in}, options(4, Mode::train, in, layout));
    std::vector<float> x = stacked.input(0);
    for (size_t i = 0; i < x.size(); ++i) x[i] += i < x.size() / 2 ? 0.f : 3.f;  // the uses differ in mean
    stacked.set_input(0, x);
    const size_t half = x.size() / 2;
    first.set_input(0, std::vector<float>(x.begin(), x.begin() + long(half)));
    second.set_input(0, std::vector<float>(x.begin() + long(half), x.end()));
    for (size_t i = 0; i < stacked.param_specs().size(); ++i) {
      first.set_param(i, stacked.param(i));
      second.set_param(i, stacked.param(i));
    }
    stacked.forward();
    first.forward();
    for (size_t i = 0; i < first.param_specs().size(); ++i) second.set_param(i, first.param(i));  // moving stats: a, then b
    second.forward();
    std::vector<float> want = first.output(), b = second.output();
    want.insert(want.end(), b.begin(), b.end());
    check_close(stacked.output(), want);
    const size_t mean = stacked.param_specs().size() - 2, var = mean + 1;
    check_close(stacked.param(mean), second.param(mean));  // moving mean after both uses
    check_close(stacked.param(var), second.param(var));    // moving variance
    // Backward: each use's input gradient as if it ran alone; gamma's and beta's summed.
    std::vector<float> dy(x.size());
    for (size_t i = 0; i < dy.size(); ++i) dy[i] = std::sin(0.7f * float(i)) + (i % 3 == 0 ? 0.5f : -0.2f);
    stacked.backward(dy);
    first.backward(std::vector<float>(dy.begin(), dy.begin() + long(half)));
    second.backward(std::vector<float>(dy.begin() + long(half), dy.end()));
    std::vector<float> want_dx = first.input_grad(0), dx_b = second.input_grad(0);
    want_dx.insert(want_dx.end(), dx_b.begin(), dx_b.end());
    check_close(stacked.input_grad(0), want_dx);
    for (size_t i = 0; i < mean; ++i) {  // gamma and beta
      std::vector<float> sum = first.param_grad(i);
      const std::vector<float> part = second.param_grad(i);
      for (size_t k = 0; k < sum.size(); ++k) sum[k] += part[k];
      check_close(stacked.param_grad(i), sum);
    }
    auto r = stacked.check_gradients(1e-3, 60);
    INFO("worst: " << r.worst);
    CHECK(r.checked > 0);
    CHECK(r.max_error < 1e-2);
  }
}

TEST_CASE("batch_norm: keeps the producer's layout, with no reference kernel") {
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  for (tag t : {tag::nchw, tag::nhwc, tag::nChw16c}) {
    CAPTURE(int(t));
    auto node = testing::registry().find("batch_norm")->make(bn_attrs());
    const Shape in{4, 6, 6};
    node->infer({in});
    node->params({in});
    const dnnl::memory::desc producer({8, 4, 6, 6}, dnnl::memory::data_type::f32, t);
    PlanContext ctx(engine, 8);
    ctx.input_shapes = {in};
    ctx.output_shape = in;
    ctx.inputs = {producer};
    ctx.needs_input_grad = {true};
    CHECK(node->plan(ctx) == producer);
    CHECK(ctx.inputs[0] == producer);
    for (const auto& impl : node->implementations()) CHECK_MESSAGE(impl.rfind("ref", 0) != 0, impl);
  }
  // [D] samples stay plain N x D for the framework, whatever view the primitives use.
  auto node = testing::registry().find("batch_norm")->make(bn_attrs());
  node->infer({{256}});
  node->params({{256}});
  PlanContext ctx(engine, 16);
  ctx.input_shapes = {{256}};
  ctx.output_shape = {256};
  ctx.inputs = {plain_desc({16, 256})};
  ctx.needs_input_grad = {true};
  CHECK(node->plan(ctx) == plain_desc({16, 256}));
  CHECK(ctx.inputs[0] == plain_desc({16, 256}));
  for (const auto& impl : node->implementations()) CHECK_MESSAGE(impl.rfind("ref", 0) != 0, impl);
}

TEST_CASE("batch_norm: bad attributes and shapes are clear errors") {
  auto make = [](const Attributes& a, Shape in = {4}) { NodeHarness(testing::registry(), "batch_norm", a, {in}, {}); };
  CHECK_THROWS_WITH_AS(make(bn_attrs({{"momentum", "1.5"}})), doctest::Contains("'momentum' must be in [0, 1]"), Error);
  CHECK_THROWS_WITH_AS(make(bn_attrs({{"momentum", "fast"}})), doctest::Contains("expects a number"), Error);
  CHECK_THROWS_WITH_AS(make(bn_attrs({{"epsilon", "0"}})), doctest::Contains("'epsilon' must be positive"), Error);
  CHECK_THROWS_WITH_AS(make(bn_attrs({{"center", "sometimes"}})), doctest::Contains("true or false"), Error);
  CHECK_THROWS_WITH_AS(make(bn_attrs(), {4, 5}), doctest::Contains("got [4, 5]"), Error);
}
