// Both uses of a tower hold one parameter tensor, and its gradient is the sum of both
// branches' gradients (checked against finite differences of the whole graph's loss).
#include <doctest/doctest.h>

#include "exec/plan.hpp"
#include "graph/model.hpp"
#include "plugins.hpp"

#include <cmath>
#include <random>

using namespace graphrun;

namespace {

const char* kGraph = R"(name: shared
inputs:
  left:  {shape: [5]}
  right: {shape: [5]}
  same:  {shape: [1], feed: label}
towers:
  enc:
    - {op: dense, units: 4, activation: tanh}
    - {op: dense, units: 3, activation: tanh}
nodes:
  a:    {tower: enc, input: left}
  b:    {tower: enc, input: right}
  d:    {op: subtract, inputs: [a, b]}
  p:    {op: dense, units: 1, activation: sigmoid, input: d}
  loss: {op: binary_crossentropy, inputs: [p, same]}
output: p
loss: loss
)";

}  // namespace

TEST_CASE("weight sharing: one tensor per tower parameter, gradients summed over uses") {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  Model m(parse_graph_spec(kGraph, "shared.yaml"), testing::registry(), eng);
  m.initialize(3);
  const int a = m.find("a/dense_1"), b = m.find("b/dense_1");
  REQUIRE(a >= 0);
  REQUIRE(b >= 0);
  CHECK(m.nodes()[a].params == m.nodes()[b].params);  // the same Parameter objects
  CHECK(m.params().size() == 6);                      // 2 tower layers + head, kernel and bias each
  CHECK(m.params()[m.nodes()[a].params[0]].uses == 2);

  Plan plan(m, 4);
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> uni(-1, 1);
  for (auto name : {"left", "right"}) {
    Tensor& t = plan.input(m.find(name));
    for (size_t i = 0; i < t.size(); ++i) t.data()[i] = uni(rng);
  }
  float* labels = plan.input(m.find("same")).data();
  labels[0] = 1, labels[1] = 0, labels[2] = 1, labels[3] = 0;

  plan.forward(Mode::train, 0);
  plan.backward(0);
  plan.reduce_gradients();
  Parameter& kernel = m.params()[m.nodes()[a].params[0]];
  std::vector<float> analytic(kernel.grad.data(), kernel.grad.data() + kernel.grad.size());

  const double eps = 1e-3;
  double worst = 0, norm = 0;
  for (size_t i = 0; i < analytic.size(); ++i) {
    float& w = kernel.value.data()[i];
    const float saved = w;
    w = saved + float(eps);
    plan.forward(Mode::train, 0);
    const double up = plan.loss();
    w = saved - float(eps);
    plan.forward(Mode::train, 0);
    const double down = plan.loss();
    w = saved;
    const double numeric = (up - down) / (2 * eps);
    worst = std::max(worst, std::abs(numeric - analytic[i]));
    norm = std::max(norm, std::abs(numeric));
  }
  CAPTURE(worst);
  CAPTURE(norm);
  CHECK(norm > 1e-3);            // the check means something: the gradient is not zero
  // Had only one branch's gradient been kept, the finite difference (which moves the
  // shared tensor under both branches) would disagree with it.
  CHECK(worst < 2e-3 + 0.02 * norm);
}

TEST_CASE("weight sharing: a frozen tower gets no gradient and no update") {
  std::string text = kGraph;
  text.replace(text.find("  enc:\n"), 7, "  enc:\n    trainable: false\n    layers:\n");
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  Model m(parse_graph_spec(text, "frozen.yaml"), testing::registry(), eng);
  for (const auto& p : m.params()) {
    const bool in_tower = p.name.rfind("enc/", 0) == 0;
    CHECK(p.trainable == !in_tower);
    CHECK(p.grad.empty() == in_tower);
  }
}
