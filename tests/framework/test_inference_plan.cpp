// An inference plan (Plan::Purpose::inference) plans no backward pass: it holds no
// activation gradients, refuses train mode and backward, and computes what a training
// plan computes in eval mode.
#include <doctest/doctest.h>

#include "exec/plan.hpp"
#include <graphrun/error.hpp>
#include "graph/model.hpp"
#include "graph/spec.hpp"
#include "plugins.hpp"

#include <random>

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
