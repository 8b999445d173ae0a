// An inference plan (Plan::Purpose::inference) plans no backward pass: it holds no
// activation gradients, refuses train mode and backward, and computes what a training
// plan computes in eval mode.
#include <doctest/doctest.h>

#include "exec/plan.hpp"
#include <graphrun/error.hpp>
#include "graph/model.hpp"
#include "graph/spec.hpp"
#include "plugins.hpp"
#include "random_params.hpp"

#include <random>
#include <string>

using namespace graphrun;

namespace {

const char* kGraph = R"(name: infer
inputs:
  image: {shape: [1, 8, 8]}
  label: {shape: [1], feed: label}
towers:
  t:
    - {op: conv2d, filters: 8, kernel_size: 3, activation: relu}
    - {op: batch_norm}
    - {op: max_pool2d}
    - {op: flatten}
    - {op: dense, units: 6, activation: tanh}
nodes:
  e:    {tower: t, input: image}
  p:    {op: dense, units: 1, activation: sigmoid, input: e}
  loss: {op: binary_crossentropy, inputs: [p, label]}
output: p
loss: loss
)";

std::vector<float> eval_output(Model& m, Plan& plan) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> uni(-1, 1);
  Tensor& in = plan.input(m.find("image"));
  for (size_t i = 0; i < in.size(); ++i) in.data()[i] = uni(rng);
  plan.forward(Mode::eval, 0);
  const float* out = plan.output(m.output());
  return std::vector<float>(out, out + plan.batch());
}

}  // namespace

TEST_CASE("inference plan: no gradient buffers, the training plan's eval outputs") {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  Model m(parse_graph_spec(kGraph, "infer.yaml"), testing::registry(), eng);
  m.initialize(1);
  Plan training(m, 5), inference(m, 5, false, Plan::Purpose::inference);
  CHECK(training.gradient_bytes() > 0);
  CHECK(inference.gradient_bytes() == 0);
  const std::vector<float> a = eval_output(m, training), b = eval_output(m, inference);
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) CHECK(b[i] == doctest::Approx(a[i]).epsilon(1e-5));
  CHECK_THROWS_WITH_AS(inference.forward(Mode::train, 0), doctest::Contains("inference plan"), Error);
  CHECK_THROWS_WITH_AS(inference.backward(0), doctest::Contains("inference plan"), Error);
}

namespace {

std::string frozen_graph(bool frozen) {
  const std::string t = frozen ? "false" : "true";
  return R"(name: shared
inputs:
  image: {shape: [2, 8, 8]}
nodes:
  conv: {op: conv2d, filters: 16, kernel_size: 3, trainable: )" + t + R"(, input: image}
  norm: {op: batch_norm, trainable: )" + t + R"(, input: conv}
  flat: {op: flatten, input: norm}
  out:  {op: dense, units: 8, trainable: )" + t + R"(, input: flat}
output: out
)";
}

// The first 3 samples' outputs (fixed inputs) of an eval pass.
std::vector<float> first_three(Model& m, Plan& plan) {
  std::mt19937 rng(4);
  std::uniform_real_distribution<float> uni(-1, 1);
  Tensor& in = plan.input(m.find("image"));
  const size_t per = in.size() / size_t(plan.batch());
  for (size_t i = 0; i < in.size(); ++i) in.data()[i] = i < 3 * per ? uni(rng) : 0.f;
  plan.forward(Mode::eval, 0);
  const float* out = plan.output(m.output());
  return std::vector<float>(out, out + 3 * 8);
}

}  // namespace

TEST_CASE("derived weights: plans of two batch sizes share them, and both follow new values") {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  Model frozen(parse_graph_spec(frozen_graph(true), "frozen.yaml"), testing::registry(), eng);
  Model plain(parse_graph_spec(frozen_graph(false), "plain.yaml"), testing::registry(), eng);
  Plan four(frozen, 4, false, Plan::Purpose::inference);
  const size_t conv_bytes = frozen.derived(frozen.find("conv")).bytes();
  const size_t dense_bytes = frozen.derived(frozen.find("out")).bytes();
  Plan three(frozen, 3, false, Plan::Purpose::inference);
  CHECK(conv_bytes > 0);  // the folded kernel and bias at least
  CHECK(frozen.derived(frozen.find("conv")).bytes() == conv_bytes);  // nothing new for batch 3
  CHECK(frozen.derived(frozen.find("out")).bytes() == dense_bytes);
  Plan reference(plain, 3, false, Plan::Purpose::inference);
  // New values after the plans exist (a checkpoint load): the plan that runs first remakes
  // the shared buffers, the other finds them made from the same values.
  for (unsigned seed : {1u, 2u}) {
    CAPTURE(seed);
    testing::set_random_params(frozen, seed);
    testing::set_random_params(plain, seed);
    const std::vector<float> expected = first_three(plain, reference);
    const std::vector<float> a = first_three(frozen, four), b = first_three(frozen, three);
    for (size_t i = 0; i < expected.size(); ++i) {
      CHECK(a[i] == doctest::Approx(expected[i]).epsilon(1e-4));
      CHECK(b[i] == doctest::Approx(expected[i]).epsilon(1e-4));
    }
  }
}
