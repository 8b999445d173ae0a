// Batch-level ops in a graph: pairwise_distance's output is [N] per sample (kBatchDim), so
// its readers infer with N, every plan gets buffers for its own batch size, and backward
// runs through it. A node with parameters cannot read such an output, and the metrics do
// not score it.
#include <doctest/doctest.h>
#include <graphrun/error.hpp>

#include "exec/plan.hpp"
#include "graph/model.hpp"
#include "graph/spec.hpp"
#include "plugins.hpp"
#include "train/metrics.hpp"

#include <cmath>
#include <random>
#include <string>

using namespace graphrun;

namespace {

// Row i of p is a softmax over the cosine distances from a_i to every b_j; the loss asks
// for class idx_i = i, the matching sample.
const char* kGraph = R"(name: batch_shapes
inputs:
  left:  {shape: [4]}
  right: {shape: [4]}
  idx:   {shape: [1], feed: class}
towers:
  encoder:
    - {op: dense, units: 3, activation: tanh}
nodes:
  a:    {tower: encoder, input: left}
  b:    {tower: encoder, input: right}
  d:    {op: pairwise_distance, metric: cosine, inputs: [a, b]}
  p:    {op: activation, function: softmax, input: d}
  loss: {op: categorical_crossentropy, inputs: [p, idx]}
output: p
loss: loss
)";

void feed(Model& m, Plan& plan, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uni(-1, 1);
  for (const char* name : {"left", "right"}) {
    Tensor& x = plan.input(m.find(name));
    for (size_t i = 0; i < x.size(); ++i) x.data()[i] = uni(rng);
  }
  Tensor& idx = plan.input(m.find("idx"));
  for (size_t i = 0; i < idx.size(); ++i) idx.data()[i] = float(i);
}

}  // namespace

TEST_CASE("batch shapes: a batch-dependent output is [N] in the model and [batch] in each plan") {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  Model m(parse_graph_spec(kGraph, "g.yaml"), testing::registry(), eng);
  m.initialize(3);
  const int d = m.find("d"), p = m.find("p");
  CHECK(m.nodes()[size_t(d)].shape == Shape{kBatchDim});
  CHECK(m.nodes()[size_t(p)].shape == Shape{kBatchDim});  // the softmax passes it on
  CHECK(to_string(m.nodes()[size_t(p)].shape) == "[N]");
  for (int64_t n : {3, 5}) {
    CAPTURE(n);
    Plan plan(m, n);
    CHECK(plan.output_shape(p) == Shape{n});
    feed(m, plan, unsigned(n));
    plan.forward(Mode::train, 1);
    CHECK(std::isfinite(plan.loss()));
    const std::vector<float> a(plan.output(m.find("a")), plan.output(m.find("a")) + n * 3);
    const std::vector<float> b(plan.output(m.find("b")), plan.output(m.find("b")) + n * 3);
    const float* dist = plan.output(d);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double ab = 0, aa = 0, bb = 0;
        for (int64_t k = 0; k < 3; ++k) {
          const double x = a[size_t(i * 3 + k)], y = b[size_t(j * 3 + k)];
          ab += x * y, aa += x * x, bb += y * y;
        }
        CHECK(dist[i * n + j] == doctest::Approx(1 - ab / std::sqrt(aa * bb)).epsilon(1e-4));
      }
    const float* probs = plan.output(p);
    for (int64_t i = 0; i < n; ++i) {
      double sum = 0;
      for (int64_t j = 0; j < n; ++j) sum += probs[i * n + j];
      CHECK(sum == doctest::Approx(1.0));
    }
  }
}

TEST_CASE("batch shapes: backward through a batch-level op matches finite differences of the loss") {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  Model m(parse_graph_spec(kGraph, "g.yaml"), testing::registry(), eng);
  m.initialize(4);
  Plan plan(m, 4);
  feed(m, plan, 9);
  plan.forward(Mode::train, 1);
  plan.backward(1);
  plan.reduce_gradients();
  Parameter* kernel = nullptr;
  for (Parameter& prm : m.params())
    if (prm.name.find("kernel") != std::string::npos) kernel = &prm;
  REQUIRE(kernel != nullptr);
  const std::vector<float> grad = kernel->grad.plain_values();
  std::vector<float> w = kernel->value.plain_values();
  double largest = 0;
  for (size_t k = 0; k < w.size(); ++k) {
    const float saved = w[k], eps = 1e-2f;
    auto loss_at = [&](float v) {
      w[k] = v;
      kernel->value.set_plain_values(w.data());
      plan.forward(Mode::train, 1);
      return double(plan.loss());
    };
    const double numeric = (loss_at(saved + eps) - loss_at(saved - eps)) / (2 * eps);
    loss_at(saved);
    CAPTURE(k);
    CHECK(grad[k] == doctest::Approx(numeric).epsilon(2e-2).scale(1e-2));
    largest = std::max(largest, std::abs(numeric));
  }
  CHECK(largest > 1e-3);  // the loss does depend on the kernel
}

TEST_CASE("batch shapes: a node with parameters cannot read a batch-dependent output") {
  const std::string graph = std::string(kGraph).replace(std::string(kGraph).find("  p:    {op: activation"),
                                                        std::string("  p:    {op: activation, function: softmax").size(),
                                                        "  p:    {op: dense, units: 2");
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  CHECK_THROWS_WITH_AS(Model(parse_graph_spec(graph, "g.yaml"), testing::registry(), eng),
                       doctest::Contains("node 'p' (dense) with inputs d [N]: parameter 'kernel' would have shape [2, N]"),
                       Error);
}

TEST_CASE("batch shapes: a batch-level output is not scored by accuracy") {
  Metrics m = Metrics::for_output({kBatchDim}, 1, true);
  CHECK_FALSE(m.scored());
  const float outputs[4] = {0.9f, 0.1f, 0.2f, 0.8f}, labels[2] = {1, 0};
  m.add_batch(outputs, labels, 2);
  m.add_loss(0.5, 2);
  CHECK(m.count() == 0);
  CHECK(std::isnan(m.accuracy()));
  CHECK(m.loss() == doctest::Approx(0.5));
  // What a caller sizing a categorical output by volume() gets for it: unscored too.
  CHECK_FALSE(Metrics::categorical(int(volume({kBatchDim}))).scored());
  CHECK(Metrics::for_output({1}, 1, true).scored());
  CHECK(Metrics::for_output({10}, 1, true).scored());
}
