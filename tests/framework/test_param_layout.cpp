// Parameters laid out by their node (PlanContext::params): a dense kernel open to a layout
// is kept in its forward primitive's blocked layout when it trains on several threads.
// Training then gives what it gives on plain kernels, and everything outside the steps
// (checkpoints, optimizer state, initialisers) still sees row-major values.
#include <doctest/doctest.h>

#include "exec/plan.hpp"
#include "graph/model.hpp"
#include "graph/spec.hpp"
#include "plugins.hpp"
#include "train/optimizer.hpp"

#include <omp.h>

#include <cmath>
#include <random>
#include <string>

using namespace graphrun;

namespace {

const char* kGraph = R"(name: layouts
inputs:
  x: {shape: [64]}
  y: {shape: [1], feed: label}
nodes:
  h1:   {op: dense, units: 32, activation: relu, input: x}
  h2:   {op: dense, units: 32, activation: tanh, input: h1}
  p:    {op: dense, units: 1, activation: sigmoid, input: h2}
  loss: {op: binary_crossentropy, inputs: [p, y]}
output: p
loss: loss
)";

constexpr int64_t kBatch = 16;

// Runs with two OpenMP threads (the setting dense keeps its kernels blocked in) and
// restores the thread count afterwards.
struct TwoThreads {
  int saved = omp_get_max_threads();
  TwoThreads() { omp_set_num_threads(2); }
  ~TwoThreads() { omp_set_num_threads(saved); }
};

void feed(Model& m, Plan& plan, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uni(-1, 1);
  Tensor& x = plan.input(m.find("x"));
  for (size_t i = 0; i < x.size(); ++i) x.data()[i] = uni(rng);
  Tensor& y = plan.input(m.find("y"));
  for (size_t i = 0; i < y.size(); ++i) y.data()[i] = float(i % 2);
}

void train_steps(Model& m, Plan& plan, Optimizer& opt, int steps, unsigned seed) {
  for (int s = 0; s < steps; ++s) {
    feed(m, plan, seed + unsigned(s));
    plan.forward(Mode::train, 0);
    plan.backward(0);
    plan.reduce_gradients();
    opt.step(m.params());
  }
}

Parameter& param(Model& m, const std::string& name) {
  for (Parameter& p : m.params())
    if (p.name == name) return p;
  FAIL("no parameter " << name);
  throw;
}

void check_close(Model& a, Model& b) {
  for (size_t k = 0; k < a.params().size(); ++k) {
    const std::vector<float> x = a.params()[k].value.plain_values(), y = b.params()[k].value.plain_values();
    REQUIRE(x.size() == y.size());
    for (size_t i = 0; i < x.size(); ++i) CHECK(x[i] == doctest::Approx(y[i]).epsilon(1e-5));
  }
}

std::unique_ptr<Optimizer> rmsprop() { return make_optimizer("rmsprop", {{"learning_rate", 0.01}}); }

}  // namespace

TEST_CASE("parameter layouts: blocked dense kernels train as plain ones do") {
  TwoThreads two;
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  Model blocked(parse_graph_spec(kGraph, "layouts.yaml"), testing::registry(), eng);
  Model plain(parse_graph_spec(kGraph, "layouts.yaml"), testing::registry(), eng);
  blocked.initialize(5);
  plain.initialize(5);
  for (Parameter& p : plain.params()) p.layout_fixed = true;  // as if another plan had bound them
  Plan blocked_plan(blocked, kBatch), plain_plan(plain, kBatch);

  Parameter& kernel = param(blocked, "h1/kernel");
  CHECK_FALSE(is_plain(kernel.value.desc()));
  CHECK(kernel.grad.desc() == kernel.value.desc());
  CHECK(is_plain(param(plain, "h1/kernel").value.desc()));
  check_close(blocked, plain);  // the same values, seen row-major

  auto opt_blocked = rmsprop(), opt_plain = rmsprop();
  train_steps(blocked, blocked_plan, *opt_blocked, 5, 1);
  train_steps(plain, plain_plan, *opt_plain, 5, 1);
  check_close(blocked, plain);
  const auto state_blocked = opt_blocked->state(blocked.params()), state_plain = opt_plain->state(plain.params());
  for (const auto& [name, values] : state_plain) {
    const std::vector<float>& other = state_blocked.at(name);
    REQUIRE(other.size() == values.size());
    for (size_t i = 0; i < values.size(); ++i) CHECK(other[i] == doctest::Approx(values[i]).epsilon(1e-5));
  }
}

TEST_CASE("parameter layouts: optimizer state set before the plan follows its parameter's new layout") {
  TwoThreads two;
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  Model first(parse_graph_spec(kGraph, "layouts.yaml"), testing::registry(), eng);
  first.initialize(9);
  Plan first_plan(first, kBatch);
  auto opt = rmsprop();
  train_steps(first, first_plan, *opt, 3, 20);

  // A resumed run: values and optimizer state loaded, row-major, before any plan exists.
  Model resumed(parse_graph_spec(kGraph, "layouts.yaml"), testing::registry(), eng);
  for (size_t k = 0; k < first.params().size(); ++k) {
    const std::vector<float> v = first.params()[k].value.plain_values();
    resumed.params()[k].value.set_plain_values(v.data());
  }
  auto resumed_opt = rmsprop();
  for (const auto& [name, values] : opt->state(first.params()))
    CHECK(resumed_opt->set_state(resumed.params(), name, values));
  Plan resumed_plan(resumed, kBatch);
  CHECK_FALSE(is_plain(param(resumed, "h1/kernel").value.desc()));

  train_steps(first, first_plan, *opt, 2, 40);
  train_steps(resumed, resumed_plan, *resumed_opt, 2, 40);
  check_close(first, resumed);
}

TEST_CASE("parameter layouts: initialisers write row-major values into a blocked kernel") {
  TwoThreads two;
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  Model a(parse_graph_spec(kGraph, "layouts.yaml"), testing::registry(), eng);
  Model b(parse_graph_spec(kGraph, "layouts.yaml"), testing::registry(), eng);
  Plan plan(a, kBatch);
  REQUIRE_FALSE(is_plain(param(a, "h1/kernel").value.desc()));
  a.initialize(3);
  b.initialize(3);
  check_close(a, b);
}

TEST_CASE("parameter layouts: a later plan works on the layout the first one chose") {
  TwoThreads two;
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  Model m(parse_graph_spec(kGraph, "layouts.yaml"), testing::registry(), eng);
  Model plain(parse_graph_spec(kGraph, "layouts.yaml"), testing::registry(), eng);
  m.initialize(4);
  plain.initialize(4);
  for (Parameter& p : plain.params()) p.layout_fixed = true;
  Plan first(m, kBatch);
  const dnnl::memory::desc laid = param(m, "h1/kernel").value.desc();
  REQUIRE_FALSE(is_plain(laid));
  Plan second(m, 3), plain_second(plain, 3);  // another batch size, as an epoch's last batch
  CHECK(param(m, "h1/kernel").value.desc() == laid);
  feed(m, second, 2);
  feed(plain, plain_second, 2);
  second.forward(Mode::eval, 0);
  plain_second.forward(Mode::eval, 0);
  const float* a = second.output(m.find("p"));
  const float* b = plain_second.output(plain.find("p"));
  for (int64_t i = 0; i < 3; ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(1e-5));
}
