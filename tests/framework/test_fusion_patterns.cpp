// Fusion declared by ops (graphrun/fusion.hpp): a standalone activation node fuses into
// its producer as that producer's own activation would, at inference in a chain with a
// frozen batch_norm and a pool, and in training, where the producer then computes the
// activation's gradient too. Each fused graph is compared with the same computation
// written with the activation inline.
#include <doctest/doctest.h>

#include "exec/plan.hpp"
#include <graphrun/error.hpp>
#include "graph/model.hpp"
#include "graph/spec.hpp"
#include "cpu_features.hpp"
#include "plugins.hpp"
#include "random_params.hpp"

#include <algorithm>
#include <random>
#include <string>

using namespace graphrun;

namespace {

bool folded(const Plan& plan, const std::string& node, const std::string& into) {
  const auto impls = plan.implementations();
  return std::find(impls.begin(), impls.end(), node + ": folded into " + into) != impls.end();
}

struct Result {
  double loss = 0;
  std::vector<float> output;
  std::vector<std::vector<float>> grads;  // every trainable parameter's, in model order
};

// One forward (and, with a loss, backward) pass on fixed random inputs and labels.
Result run(Model& m, Plan& plan, Mode mode) {
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> uni(-1, 1);
  Tensor& in = plan.input(m.find("image"));
  for (size_t i = 0; i < in.size(); ++i) in.data()[i] = uni(rng);
  if (m.find("label") >= 0) {
    Tensor& y = plan.input(m.find("label"));
    for (size_t i = 0; i < y.size(); ++i) y.data()[i] = float(i % 2);
  }
  plan.forward(mode, 0);
  Result r;
  const float* out = plan.output(m.output());
  r.output.assign(out, out + plan.batch() * volume(plan.output_shape(m.output())));
  if (m.loss() >= 0) {
    r.loss = plan.loss();
    plan.backward(0);
    plan.reduce_gradients();
    for (Parameter& p : m.params())
      if (p.trainable) r.grads.push_back(p.grad.plain_values());
  }
  return r;
}

void check_close(const std::vector<float>& a, const std::vector<float>& b, double eps) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(eps).scale(1e-5));
}

void check_same(const Result& a, const Result& b, double eps) {
  CHECK(a.loss == doctest::Approx(b.loss).epsilon(eps));
  check_close(a.output, b.output, eps);
  REQUIRE(a.grads.size() == b.grads.size());
  for (size_t k = 0; k < a.grads.size(); ++k) check_close(a.grads[k], b.grads[k], eps);
}

Model model(const std::string& text, dnnl::engine& eng, unsigned seed) {
  Model m(parse_graph_spec(text, "fusion.yaml"), testing::registry(), eng);
  testing::set_random_params(m, seed);
  return m;
}

// conv -> batch_norm -> relu -> 2x2 pool -> flatten -> dense, frozen; the relu as its own
// node (`standalone`) or batch_norm's activation.
std::string inference_graph(bool standalone, int filters) {
  const std::string f = std::to_string(filters);
  return std::string(R"(name: chain
inputs:
  image: {shape: [1, 10, 10]}
nodes:
  conv:  {op: conv2d, filters: )") + f + R"(, kernel_size: 3, trainable: false, input: image}
  norm:  {op: batch_norm, trainable: false, input: conv)" + (standalone ? "}\n  act:   {op: activation, function: relu, input: norm}\n" : ", activation: relu}\n") +
         "  pool:  {op: max_pool2d, trainable: false, input: " + (standalone ? "act" : "norm") + R"(}
  flat:  {op: flatten, input: pool}
  probs: {op: dense, units: 3, trainable: false, input: flat}
output: probs
)";
}

}  // namespace

TEST_CASE("fusion: a relu node between a frozen batch_norm and a pool folds like batch_norm's own relu") {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  for (int filters : {8, 32}) {
    CAPTURE(filters);
    Model standalone = model(inference_graph(true, filters), eng, 3), inline_relu = model(inference_graph(false, filters), eng, 3);
    Plan a(standalone, 4), b(inline_relu, 4);
    CHECK(folded(a, "norm", "conv"));
    CHECK(folded(a, "act", "conv"));
    CHECK(folded(b, "norm", "conv"));
    // The one-channel blocked kernels (32 filters, a multiple of the vector width) take the pool too.
    const bool pool_folds = filters == 32 && testing::has_avx2();
    CHECK(folded(a, "pool", "conv") == pool_folds);
    CHECK(folded(b, "pool", "conv") == pool_folds);
    check_close(run(standalone, a, Mode::eval).output, run(inline_relu, b, Mode::eval).output, 1e-5);
  }
}

TEST_CASE("fusion: in training a producer takes the activation node after it, gradient included") {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  struct Case {
    const char* name;
    std::string standalone, inline_form;
    const char* producer;
  };
  const std::string head = "name: train\ninputs:\n  image: {shape: [2, 6, 6]}\n  label: {shape: [1], feed: label}\nnodes:\n";
  const std::string tail =
      "  p:    {op: dense, units: 1, activation: sigmoid, input: flat}\n"
      "  loss: {op: binary_crossentropy, inputs: [p, label]}\noutput: p\nloss: loss\n";
  const std::vector<Case> cases{
      {"conv2d -> relu",
       head + "  conv: {op: conv2d, filters: 4, kernel_size: 3, input: image}\n  act: {op: activation, function: relu, input: conv}\n  flat: {op: flatten, input: act}\n" + tail,
       head + "  conv: {op: conv2d, filters: 4, kernel_size: 3, activation: relu, input: image}\n  flat: {op: flatten, input: conv}\n" + tail,
       "conv"},
      {"conv2d -> tanh",
       head + "  conv: {op: conv2d, filters: 4, kernel_size: 3, input: image}\n  act: {op: activation, function: tanh, input: conv}\n  flat: {op: flatten, input: act}\n" + tail,
       head + "  conv: {op: conv2d, filters: 4, kernel_size: 3, activation: tanh, input: image}\n  flat: {op: flatten, input: conv}\n" + tail,
       "conv"},
      {"batch_norm -> relu",
       head + "  norm: {op: batch_norm, input: image}\n  act: {op: activation, function: relu, input: norm}\n  flat: {op: flatten, input: act}\n" + tail,
       head + "  norm: {op: batch_norm, activation: relu, input: image}\n  flat: {op: flatten, input: norm}\n" + tail,
       "norm"},
      {"dense -> sigmoid",
       head + "  flat0: {op: flatten, input: image}\n  h: {op: dense, units: 5, input: flat0}\n  act: {op: activation, function: sigmoid, input: h}\n  flat: {op: flatten, input: act}\n" + tail,
       head + "  flat0: {op: flatten, input: image}\n  h: {op: dense, units: 5, activation: sigmoid, input: flat0}\n  flat: {op: flatten, input: h}\n" + tail,
       "h"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    Model standalone = model(c.standalone, eng, 4), inline_form = model(c.inline_form, eng, 4);
    Plan a(standalone, 6), b(inline_form, 6);
    CHECK(folded(a, "act", c.producer));
    check_same(run(standalone, a, Mode::train), run(inline_form, b, Mode::train), 1e-5);
  }
}

TEST_CASE("fusion: an activation node read by two nodes stays a node of its own") {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  const char* text = R"(name: two
inputs:
  image: {shape: [1, 6, 6]}
nodes:
  conv: {op: conv2d, filters: 4, kernel_size: 3, input: image}
  act:  {op: activation, function: relu, input: conv}
  spare: {op: activation, function: tanh, input: conv}
  sum:  {op: subtract, inputs: [act, spare]}
output: sum
)";
  Model m = model(text, eng, 5);
  Plan plan(m, 2);
  CHECK_FALSE(folded(plan, "act", "conv"));
  CHECK_FALSE(folded(plan, "spare", "conv"));
}

TEST_CASE("fusion: a node the evaluation reads as its embedding is never folded away") {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  const std::string text = R"(name: embed
inputs:
  image: {shape: [1, 6, 6]}
nodes:
  conv: {op: conv2d, filters: 4, kernel_size: 3, trainable: false, input: image}
  act:  {op: activation, function: relu, input: conv}
output: act
)";
  Model plain = model(text, eng, 6), observed = model(text + "evaluation: {embedding: conv}\n", eng, 6);
  Plan a(plain, 2), b(observed, 2);
  CHECK(folded(a, "act", "conv"));
  CHECK_FALSE(folded(b, "act", "conv"));
  CHECK_THROWS_WITH_AS(a.output(plain.find("conv")), doctest::Contains("is not kept"), Error);
  CHECK(b.output(observed.find("conv")) != nullptr);
}
