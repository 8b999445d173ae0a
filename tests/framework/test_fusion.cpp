// Work the executor leaves out: a frozen batch_norm read only by a frozen convolution's
// output is folded into that convolution (PlanContext::epilogue), and so is a 2x2 max pool
// after it where the one-channel blocked kernels run, with the outputs of running them,
// before and after the parameters change; frozen weights staged for a
// primitive follow their values; a flatten and a frozen dropout are views of their input
// (PlanContext::output_aliases_input); a frozen convolution read by a pooling that drops
// its last row and column computes only the part it reads (PlanContext::output_extent).
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

// conv -> batch_norm (relu) -> pool -> flatten -> dense; `norm_trainable: true` keeps
// the batch_norm from being folded (it then runs in eval mode on its moving statistics).
std::string graph(int channels, int filters, bool norm_trainable, int side = 10) {
  const std::string c = std::to_string(channels), f = std::to_string(filters), n = std::to_string(side);
  return R"(name: fold
inputs:
  image: {shape: [)" + c + ", " + n + ", " + n + R"(]}
nodes:
  conv:  {op: conv2d, filters: )" + f + R"(, kernel_size: 3, trainable: false, input: image}
  norm:  {op: batch_norm, activation: relu, trainable: )" + (norm_trainable ? "true" : "false") + R"(, input: conv}
  pool:  {op: max_pool2d, pool_size: 2, trainable: false, input: norm}
  flat:  {op: flatten, input: pool}
  probs: {op: dense, units: 3, trainable: false, input: flat}
output: probs
)";
}

// The first `count` values of node `output` after an eval forward pass on random images.
std::vector<float> run(Model& m, Plan& plan, const std::string& output, int64_t count) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> uni(-1, 1);
  Tensor& in = plan.input(m.find("image"));
  for (size_t i = 0; i < in.size(); ++i) in.data()[i] = uni(rng);
  plan.forward(Mode::eval, 0);
  const float* out = plan.output(m.find(output));
  return std::vector<float>(out, out + count);
}

bool folded(const Plan& plan, const std::string& node = "norm") {
  const auto impls = plan.implementations();
  return std::find(impls.begin(), impls.end(), node + ": folded into conv") != impls.end();
}

void check_same(int channels, int filters, int side = 10, bool pool_folds = false) {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  Model fused(parse_graph_spec(graph(channels, filters, false, side), "fused.yaml"), testing::registry(), eng);
  Model plain(parse_graph_spec(graph(channels, filters, true, side), "plain.yaml"), testing::registry(), eng);
  testing::set_random_params(fused, 3);
  testing::set_random_params(plain, 3);
  const int64_t batch = 4;
  Plan fused_plan(fused, batch), plain_plan(plain, batch);
  CHECK(folded(fused_plan));
  CHECK_FALSE(folded(plain_plan));
  CHECK(folded(fused_plan, "pool") == pool_folds);
  CHECK_FALSE(folded(plain_plan, "pool"));
  // A chain computed by its first node keeps only its last node's output.
  CHECK_THROWS_WITH_AS(fused_plan.output(fused.find("conv")), doctest::Contains("is not kept"), Error);
  if (pool_folds) CHECK_THROWS_WITH_AS(fused_plan.output(fused.find("norm")), doctest::Contains("is not kept"), Error);
  auto compare = [&] {
    const std::vector<float> a = run(fused, fused_plan, "probs", batch * 3), b = run(plain, plain_plan, "probs", batch * 3);
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(1e-4));
    return a;
  };
  const std::vector<float> before = compare();
  // New values after the plans exist (as a checkpoint load writes them): both follow.
  testing::set_random_params(fused, 4);
  testing::set_random_params(plain, 4);
  const std::vector<float> after = compare();
  CHECK(before != after);
}

}  // namespace

TEST_CASE("folding: a frozen batch_norm folded into its convolution gives the unfolded outputs") {
  SUBCASE("direct convolution, one input channel") { check_same(1, 8); }
  SUBCASE("Winograd convolution at inference, 16 channels each side") { check_same(16, 16); }
  // The one-channel blocked kernels (AVX2, AVX-512) also take the max pool; an odd map (9 x
  // 9) leaves its last row and column to no window.
  for (int side : {10, 11})
    SUBCASE(("one channel, 32 filters, with the max pool, image side " + std::to_string(side)).c_str()) {
      check_same(1, 32, side, testing::has_avx2());
    }
}

TEST_CASE("folding: a trainable convolution keeps its batch_norm") {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  std::string text = graph(1, 8, false);
  const std::string frozen = "trainable: false, input: image";
  text.replace(text.find(frozen), frozen.size(), "trainable: true, input: image");
  Model m(parse_graph_spec(text, "trainable.yaml"), testing::registry(), eng);
  Plan plan(m, 2);
  CHECK_FALSE(folded(plan));
}

TEST_CASE("aliasing: flatten and a frozen dropout are views of their input, also in train mode") {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  const char* text = R"(name: alias
inputs:
  image: {shape: [2, 3, 3]}
nodes:
  flat: {op: flatten, input: image}
  drop: {op: dropout, rate: 0.5, trainable: false, input: flat}
output: drop
)";
  Model m(parse_graph_spec(text, "alias.yaml"), testing::registry(), eng);
  Plan plan(m, 3);
  Tensor& in = plan.input(m.find("image"));
  for (size_t i = 0; i < in.size(); ++i) in.data()[i] = float(i) + 0.5f;
  plan.forward(Mode::train, 7);
  const float* out = plan.output(m.find("drop"));
  CHECK(out == in.data());  // no copy
  for (size_t i = 0; i < in.size(); ++i) CHECK(out[i] == float(i) + 0.5f);
}

TEST_CASE("aliasing: a trainable dropout still drops units in train mode") {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  const char* text = R"(name: alias
inputs:
  image: {shape: [64]}
nodes:
  drop: {op: dropout, rate: 0.5, input: image}
output: drop
)";
  Model m(parse_graph_spec(text, "dropout.yaml"), testing::registry(), eng);
  Plan plan(m, 4);
  Tensor& in = plan.input(m.find("image"));
  in.fill(1.f);
  plan.forward(Mode::train, 7);
  const float* out = plan.output(m.find("drop"));
  CHECK(out != in.data());
  CHECK(std::count(out, out + in.size(), 0.f) > 0);
}

namespace {

// 16 x 11 x 11 -> conv (9 x 9, graphrun's Winograd on every machine) -> batch_norm -> 2x2
// pool, which reads rows and columns 0-7 only. `full_reader` adds a flatten of the whole map, which takes the offer away.
std::string extent_graph(bool full_reader) {
  return std::string(R"(name: extent
inputs:
  image: {shape: [16, 11, 11]}
nodes:
  conv: {op: conv2d, filters: 16, kernel_size: 3, implementation: winograd, trainable: false, input: image}
  norm: {op: batch_norm, activation: relu, trainable: false, input: conv}
  pool: {op: max_pool2d, pool_size: 2, input: norm}
)") + (full_reader ? "  spare: {op: flatten, input: norm}\n" : "") + "output: pool\n";
}

bool computes_part(const Plan& plan) {
  const auto impls = plan.implementations();
  return std::count(impls.begin(), impls.end(), "conv: forward computes the [16, 8, 8] of [16, 9, 9] its readers use") == 1;
}

}  // namespace

TEST_CASE("extent: a frozen convolution computes only the part of its output its pooling reads") {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  Model part(parse_graph_spec(extent_graph(false), "part.yaml"), testing::registry(), eng);
  Model whole(parse_graph_spec(extent_graph(true), "whole.yaml"), testing::registry(), eng);
  testing::set_random_params(part, 5);
  testing::set_random_params(whole, 5);
  const int64_t batch = 5;
  Plan part_plan(part, batch), whole_plan(whole, batch);
  // graphrun's Winograd (forced: auto picks oneDNN's on AVX-512) takes the offer.
  CHECK(computes_part(part_plan));
  CHECK_FALSE(computes_part(whole_plan));
  CHECK_THROWS_WITH_AS(part_plan.output(part.find("norm")), doctest::Contains("only the part of its output"), Error);
  const std::vector<float> a = run(part, part_plan, "pool", batch * 16 * 4 * 4),
                           b = run(whole, whole_plan, "pool", batch * 16 * 4 * 4);
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(1e-5));
}
