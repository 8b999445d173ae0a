// Both uses of a tower hold one parameter tensor, and its gradient is the sum of both
// branches' gradients (checked against finite differences of the whole graph's loss).
#include <doctest/doctest.h>

#include "exec/plan.hpp"
#include "graph/model.hpp"
#include "plugins.hpp"

#include <algorithm>
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

// The graph with the tower's uses kept apart (one chain of nodes each) or run as one batch.
std::string graph_text(bool batch_uses) {
  std::string text = kGraph;
  if (!batch_uses) text.replace(text.find("  enc:\n"), 7, "  enc:\n    batch_uses: false\n    layers:\n");
  return text;
}

struct Step {
  double loss = 0;
  std::vector<float> kernel_grad;  // the tower's first kernel
  std::vector<float> output;
};

// One forward/backward on a fixed batch; checks the tower's first kernel gradient against
// central differences of the whole graph's loss.
Step check_shared_gradient(Model& m, const std::string& kernel_name) {
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
  Step step;
  step.loss = plan.loss();
  const float* out = plan.output(m.output());
  step.output.assign(out, out + 4);
  plan.backward(0);
  plan.reduce_gradients();
  auto it = std::find_if(m.params().begin(), m.params().end(), [&](const Parameter& p) { return p.name == kernel_name; });
  REQUIRE(it != m.params().end());
  Parameter& kernel = *it;
  step.kernel_grad.assign(kernel.grad.data(), kernel.grad.data() + kernel.grad.size());

  const double eps = 1e-3;
  double worst = 0, norm = 0;
  for (size_t i = 0; i < step.kernel_grad.size(); ++i) {
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
    worst = std::max(worst, std::abs(numeric - step.kernel_grad[i]));
    norm = std::max(norm, std::abs(numeric));
  }
  CAPTURE(worst);
  CAPTURE(norm);
  CHECK(norm > 1e-3);  // the check means something: the gradient is not zero
  // Had only one branch's gradient been kept, the finite difference (which moves the
  // shared tensor under both branches) would disagree with it.
  CHECK(worst < 2e-3 + 0.02 * norm);
  return step;
}

}  // namespace

TEST_CASE("weight sharing: one tensor per tower parameter, gradients summed over separate uses") {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  Model m(parse_graph_spec(graph_text(false), "shared.yaml"), testing::registry(), eng);
  m.initialize(3);
  const int a = m.find("a/dense_1"), b = m.find("b/dense_1");
  REQUIRE(a >= 0);
  REQUIRE(b >= 0);
  CHECK(m.nodes()[a].params == m.nodes()[b].params);  // the same Parameter objects
  CHECK(m.params().size() == 6);                      // 2 tower layers + head, kernel and bias each
  CHECK(m.params()[m.nodes()[a].params[0]].uses == 2);
  check_shared_gradient(m, "enc/dense_1/kernel");
}

TEST_CASE("weight sharing: the uses of a tower run as one batch, with the same results") {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  Model apart(parse_graph_spec(graph_text(false), "apart.yaml"), testing::registry(), eng);
  Model batched(parse_graph_spec(graph_text(true), "batched.yaml"), testing::registry(), eng);
  apart.initialize(3);
  batched.initialize(3);
  // One chain of tower nodes on a stacked batch, and a slice per use.
  CHECK(batched.find("a/dense_1") < 0);
  const int chain = batched.find("a+b/dense_1");
  REQUIRE(chain >= 0);
  CHECK(batched.nodes()[chain].batch_factor == 2);
  REQUIRE(batched.find("a") >= 0);
  CHECK(batched.nodes()[batched.find("a")].role == NodeDef::Role::split);
  CHECK(batched.nodes()[batched.find("b")].part == 1);
  CHECK(batched.params().size() == 6);

  const Step x = check_shared_gradient(apart, "enc/dense_1/kernel");
  const Step y = check_shared_gradient(batched, "enc/dense_1/kernel");
  CHECK(y.loss == doctest::Approx(x.loss).epsilon(1e-6));
  for (size_t i = 0; i < x.output.size(); ++i) CHECK(y.output[i] == doctest::Approx(x.output[i]).epsilon(1e-5));
  REQUIRE(x.kernel_grad.size() == y.kernel_grad.size());
  for (size_t i = 0; i < x.kernel_grad.size(); ++i)
    CHECK(y.kernel_grad[i] == doctest::Approx(x.kernel_grad[i]).epsilon(1e-5).scale(1e-6));
}

TEST_CASE("weight sharing: a batch_norm in a batched tower keeps each use's statistics apart") {
  // A trainable batch_norm normalises each use by its own batch statistics, as Keras does:
  // batched, it runs once per use on that use's slice of the stacked batch.
  std::string text = kGraph;
  text.replace(text.find("    - {op: dense, units: 3"), 0, "    - {op: batch_norm}\n");
  std::string apart_text = text;
  apart_text.replace(apart_text.find("  enc:\n"), 7, "  enc:\n    batch_uses: false\n    layers:\n");
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  Model batched(parse_graph_spec(text, "bn.yaml"), testing::registry(), eng);
  Model apart(parse_graph_spec(apart_text, "bn_apart.yaml"), testing::registry(), eng);
  REQUIRE(batched.find("a+b/batch_norm_1") >= 0);
  REQUIRE(apart.find("a/batch_norm_1") >= 0);
  batched.initialize(3);
  apart.initialize(3);
  const Step x = check_shared_gradient(apart, "enc/dense_1/kernel");
  const Step y = check_shared_gradient(batched, "enc/dense_1/kernel");
  CHECK(y.loss == doctest::Approx(x.loss).epsilon(1e-5));
  for (size_t i = 0; i < x.kernel_grad.size(); ++i)
    CHECK(y.kernel_grad[i] == doctest::Approx(x.kernel_grad[i]).epsilon(1e-4).scale(1e-5));
  // The moving statistics took both uses' batch statistics, in the same order.
  for (const char* name : {"enc/batch_norm_1/moving_mean", "enc/batch_norm_1/moving_variance"}) {
    auto find = [&](Model& m) -> Parameter& {
      return *std::find_if(m.params().begin(), m.params().end(), [&](const Parameter& p) { return p.name == name; });
    };
    Parameter &p = find(apart), &q = find(batched);
    for (size_t i = 0; i < p.value.size(); ++i) CHECK(q.value.data()[i] == doctest::Approx(p.value.data()[i]).epsilon(1e-5));
  }
}

TEST_CASE("weight sharing: a tower with a layer that mixes samples keeps one chain per use") {
  // An op that mixes the samples of a batch and cannot keep uses apart (the default).
  struct Mixer : Node {
    Shape infer(const std::vector<Shape>& in) override { return in.at(0); }
    dnnl::memory::desc plan(PlanContext& ctx) override { return ctx.inputs.at(0); }
    void forward(ExecContext&) override {}
    void backward(ExecContext&) override {}
  };
  Registry registry = testing::registry();
  OpInfo mixer;
  mixer.name = "mixer";
  mixer.make = [](const Attributes&) { return std::make_unique<Mixer>(); };
  registry.add(mixer);
  std::string text = kGraph;
  text.replace(text.find("    - {op: dense, units: 3"), 0, "    - {op: mixer}\n");
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  Model m(parse_graph_spec(text, "mixer.yaml"), registry, eng);
  CHECK(m.find("a/mixer_1") >= 0);
  CHECK(m.find("a+b/dense_1") < 0);
  // A frozen batch_norm runs on its moving statistics, sample by sample: batched.
  std::string frozen = kGraph;
  frozen.replace(frozen.find("    - {op: dense, units: 3"), 0, "    - {op: batch_norm, trainable: false}\n");
  Model f(parse_graph_spec(frozen, "frozen_bn.yaml"), testing::registry(), eng);
  CHECK(f.find("a+b/batch_norm_1") >= 0);
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
