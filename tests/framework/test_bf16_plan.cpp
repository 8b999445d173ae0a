// A bf16 model's plans (train.precision: bf16): one training step of a small conv graph
// gives the loss and every parameter gradient of the same step in f32 within bf16's
// rounding; its inference plan scores as its training plan does in eval mode.
#include <doctest/doctest.h>

#include "bf16.hpp"
#include "exec/plan.hpp"
#include "graph/model.hpp"
#include "graph/spec.hpp"
#include "plugins.hpp"
#include "random_params.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

using namespace graphrun;

namespace {

// One tower, smooth activations, no batch norm and no distance of two towers: gradients
// that are not the small difference of large terms and no relu mask that flips, so bf16's
// rounding (a few 1e-3 per value) stays near its own size in them: about 1e-2 (norm-wise)
// in every gradient here, 4e-2 in the first kernel's, which sums inputs of either sign.
const char* kGraph = R"(name: classifier
inputs:
  image: {shape: [1, 16, 16]}
  label: {shape: [1], feed: label}
nodes:
  c1:   {op: conv2d, filters: 16, kernel_size: 3, activation: tanh, input: image}
  pool: {op: max_pool2d, input: c1}
  c2:   {op: conv2d, filters: 32, kernel_size: 3, activation: tanh, input: pool}
  flat: {op: flatten, input: c2}
  fc:   {op: dense, units: 24, activation: tanh, input: flat}
  p:    {op: dense, units: 1, activation: sigmoid, input: fc}
  loss: {op: binary_crossentropy, inputs: [p, label]}
output: p
loss: loss
)";

std::unique_ptr<Model> model(const std::string& precision, const dnnl::engine& eng) {
  GraphSpec spec = parse_graph_spec(kGraph, "classifier.yaml");
  spec.train.precision = precision;
  auto m = std::make_unique<Model>(std::move(spec), testing::registry(), eng);
  testing::set_random_params(*m, 11);
  for (Parameter& p : m->params())  // weights of a trained scale: sigmoid far from saturation
    if (p.name.find("kernel") != std::string::npos)
      for (size_t i = 0; i < p.value.size(); ++i) p.value.data()[i] *= 0.3f;
  return m;
}

void feed(Model& m, Plan& plan) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> uni(-1, 1);
  Tensor& in = plan.input(m.find("image"));
  for (size_t i = 0; i < in.size(); ++i) in.data()[i] = uni(rng);
  Tensor& label = plan.input(m.find("label"));
  for (size_t i = 0; i < label.size(); ++i) label.data()[i] = float(i % 2);
}

// |a - reference| / |reference| (Euclidean norms)
double relative_error(const std::vector<float>& a, const std::vector<float>& reference) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff += (double(a[i]) - reference[i]) * (double(a[i]) - reference[i]);
    norm += double(reference[i]) * reference[i];
  }
  return std::sqrt(diff / std::max(norm, 1e-30));
}

}  // namespace

TEST_CASE("bf16 plan: one training step's loss and parameter gradients are f32's within bf16 rounding") {
  if (testing::skip_without_bf16()) return;
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  auto f32 = model("f32", eng), bf16 = model("bf16", eng);
  Plan pf(*f32, 8), pb(*bf16, 8);
  for (auto [m, p] : {std::pair{f32.get(), &pf}, std::pair{bf16.get(), &pb}}) {
    feed(*m, *p);
    p->forward(Mode::train, 1);
    p->backward(1);
    p->reduce_gradients();
  }
  CHECK(pb.loss() == doctest::Approx(pf.loss()).epsilon(1e-2));
  size_t compared = 0;
  double worst = 0;
  for (size_t k = 0; k < f32->params().size(); ++k) {
    const Parameter& a = f32->params()[k];
    const Parameter& b = bf16->params()[k];
    if (a.grad.empty()) continue;
    CAPTURE(a.name);
    const double error = relative_error(b.grad.plain_values(), a.grad.plain_values());
    CHECK(error < 5e-2);
    worst = std::max(worst, error);
    ++compared;
  }
  CHECK(compared == 8);  // the kernels and biases of c1, c2, fc and p
  CHECK(worst > 1e-4);    // and they are not f32's own
}

TEST_CASE("bf16 plan: the inference plan computes what the training plan computes in eval mode") {
  if (testing::skip_without_bf16()) return;
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  auto m = model("bf16", eng);
  Plan training(*m, 6), inference(*m, 6, false, Plan::Purpose::inference);
  feed(*m, training);
  feed(*m, inference);
  training.forward(Mode::eval, 0);
  inference.forward(Mode::eval, 0);
  const float* a = training.output(m->output());
  const float* b = inference.output(m->output());
  for (int i = 0; i < 6; ++i) CHECK(b[i] == doctest::Approx(a[i]).epsilon(1e-5));
}
