// loss_sum: the weighted sum of a graph's losses, on its own and in a graph of two towers
// with a loss each (the gradient of each tower is its own loss's, times its weight).
#include <doctest/doctest.h>
#include <graphrun/error.hpp>
#include <graphrun/harness.hpp>

#include "exec/plan.hpp"
#include "graph/model.hpp"
#include "harness_options.hpp"
#include "plugins.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

using namespace graphrun;
using graphrun::testing::batch_of;

namespace {

Attributes factors(const std::string& list) {
  Attributes a("total");
  if (list.empty()) return a;
  Attributes::Value v;
  v.is_list = true;
  size_t at = 0;
  while (at < list.size()) {
    const size_t comma = list.find(',', at);
    v.items.push_back(list.substr(at, comma == std::string::npos ? std::string::npos : comma - at));
    at = comma == std::string::npos ? list.size() : comma + 1;
  }
  a.set("factors", v);
  return a;
}

// Two towers on one input, a binary_crossentropy each, summed with the given factors.
std::string two_tower_graph(const std::string& w) {
  return R"(name: two_losses
inputs:
  x: {shape: [5]}
  y: {shape: [1], feed: label}
towers:
  ta:
    - {op: dense, units: 3, activation: tanh}
    - {op: dense, units: 1, activation: sigmoid}
  tb:
    - {op: dense, units: 4, activation: tanh}
    - {op: dense, units: 1, activation: sigmoid}
nodes:
  a: {tower: ta, input: x}
  b: {tower: tb, input: x}
  loss_a: {op: binary_crossentropy, inputs: [a, y]}
  loss_b: {op: binary_crossentropy, inputs: [b, y]}
  loss: {op: loss_sum, factors: )" + w + R"(, inputs: [loss_a, loss_b]}
output: a
loss: loss
)";
}

struct Run {
  double total = 0, a = 0, b = 0;
  std::vector<float> grad_a, grad_b;  // each tower's first kernel
};

Run step(const std::string& w) {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  Model m(parse_graph_spec(two_tower_graph(w), "two_losses.yaml"), testing::registry(), eng);
  m.initialize(7);
  Plan plan(m, 4);
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> uni(-1, 1);
  Tensor& x = plan.input(m.find("x"));
  for (size_t i = 0; i < x.size(); ++i) x.data()[i] = uni(rng);
  float* y = plan.input(m.find("y")).data();
  y[0] = 1, y[1] = 0, y[2] = 0, y[3] = 1;
  plan.forward(Mode::train, 0);
  Run r;
  r.total = plan.loss();
  r.a = plan.output(m.find("loss_a"))[0];
  r.b = plan.output(m.find("loss_b"))[0];
  plan.backward(0);
  plan.reduce_gradients();
  for (const Parameter& p : m.params()) {
    if (p.name == "ta/dense_1/kernel") r.grad_a.assign(p.grad.data(), p.grad.data() + p.grad.size());
    if (p.name == "tb/dense_1/kernel") r.grad_b.assign(p.grad.data(), p.grad.data() + p.grad.size());
  }
  REQUIRE(!r.grad_a.empty());
  REQUIRE(!r.grad_b.empty());
  return r;
}

double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, double(std::abs(x)));
  return m;
}

}  // namespace

TEST_CASE("loss_sum: the weighted sum and its finite-difference gradients") {
  const OpInfo* info = testing::registry().find("loss_sum");
  REQUIRE(info != nullptr);
  CHECK(info->is_loss);
  NodeHarness h(testing::registry(), "loss_sum", factors("1,0.5,2"), {{}, {}, {}}, batch_of(4));
  CHECK(h.output_shape() == Shape{});
  h.set_input(0, {0.25f});
  h.set_input(1, {2.f});
  h.set_input(2, {-1.5f});
  h.forward();
  CHECK(h.output()[0] == doctest::Approx(0.25 + 1 - 3));
  h.backward({2.f});
  CHECK(h.input_grad(0) == std::vector<float>{2.f});
  CHECK(h.input_grad(1) == std::vector<float>{1.f});
  CHECK(h.input_grad(2) == std::vector<float>{4.f});
  const auto r = h.check_gradients(1e-3);
  INFO(r.worst);
  CHECK(r.checked == 3);
  CHECK(r.max_error < 1e-3);

  NodeHarness plain(testing::registry(), "loss_sum", factors(""), {{}, {}}, batch_of(4));
  plain.set_input(0, {1.5f});
  plain.set_input(1, {2.f});
  plain.forward();
  CHECK(plain.output()[0] == doctest::Approx(3.5));  // factors default to 1
}

TEST_CASE("loss_sum: in a graph, each tower gets its own loss's gradient times its weight") {
  const Run even = step("[1, 1]"), skewed = step("[0.5, 3]"), only_a = step("[1, 0]");
  CHECK(even.total == doctest::Approx(even.a + even.b).epsilon(1e-6));
  CHECK(skewed.total == doctest::Approx(0.5 * skewed.a + 3 * skewed.b).epsilon(1e-6));
  CHECK(skewed.a == doctest::Approx(even.a));  // the same weights and batch
  CHECK(max_abs(even.grad_a) > 1e-4);
  CHECK(max_abs(even.grad_b) > 1e-4);
  for (size_t i = 0; i < even.grad_a.size(); ++i) CHECK(skewed.grad_a[i] == doctest::Approx(0.5 * even.grad_a[i]).epsilon(1e-4).scale(1e-7));
  for (size_t i = 0; i < even.grad_b.size(); ++i) CHECK(skewed.grad_b[i] == doctest::Approx(3 * even.grad_b[i]).epsilon(1e-4).scale(1e-7));
  CHECK(max_abs(only_a.grad_b) == 0);  // a weight of 0 trains nothing through its loss
  for (size_t i = 0; i < even.grad_a.size(); ++i) CHECK(only_a.grad_a[i] == doctest::Approx(even.grad_a[i]).epsilon(1e-5));
}

TEST_CASE("loss_sum: inputs that are not losses and bad factors are refused") {
  auto build = [](const Attributes& a, std::vector<Shape> shapes) {
    NodeHarness h(testing::registry(), "loss_sum", a, shapes, batch_of(4));
  };
  CHECK_THROWS_WITH_AS(build(factors(""), {{}, {3}}), doctest::Contains("input 1 has the per-sample shape [3]"), Error);
  CHECK_THROWS_WITH_AS(build(factors("1,2,3"), {{}, {}}), doctest::Contains("needs one number per input: 2 inputs, 3 factors"),
                       Error);
  CHECK_THROWS_WITH_AS(build(factors("1,-1"), {{}, {}}), doctest::Contains("must be finite and >= 0"), Error);
  CHECK_THROWS_WITH_AS(build(factors("1,x"), {{}, {}}), doctest::Contains("expects numbers"), Error);
}
