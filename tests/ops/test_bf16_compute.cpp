// conv2d and dense computing in bf16 (PlanContext::compute) against the same nodes in f32,
// forward and both gradients. With values bf16 holds exactly, every product is exact and
// the sums are f32: the two agree up to the order of the sums, which shows that nothing
// written (output, input gradient, weight gradient) was rounded to bf16. With arbitrary
// values they agree within bf16's rounding and differ by more than f32's, which shows that
// bf16 was computed at all.
#include <doctest/doctest.h>
#include <graphrun/error.hpp>
#include <graphrun/harness.hpp>
#include <graphrun/primitives.hpp>

#include "bf16.hpp"
#include "plugins.hpp"
#include "random_params.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

using namespace graphrun;
using dnnl::memory;

namespace {

// max |a - reference| / max |reference|
double relative_error(const std::vector<float>& a, const std::vector<float>& reference) {
  REQUIRE(a.size() == reference.size());
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::fabs(double(a[i]) - reference[i]));
    scale = std::max(scale, std::fabs(double(reference[i])));
  }
  return diff / std::max(scale, 1e-30);
}

// Everything one forward and backward of a node computes, in plain order.
struct Results {
  std::vector<float> output, input_grad;
  std::vector<std::vector<float>> param_grads;
  std::vector<std::string> implementations;
};

struct Case {
  std::string op;
  Attributes attrs;
  Shape input;
  int64_t batch;
  bool input_grad;
};

Results run(const Case& c, memory::data_type compute, bool representable, unsigned seed) {
  NodeHarness::Options o;
  o.batch = c.batch;
  o.needs_input_grad = {c.input_grad};
  o.compute = compute;
  NodeHarness h(testing::registry(), c.op, c.attrs, {c.input}, o);
  auto values = [&](size_t n, unsigned s) { return representable ? testing::to_bf16(testing::uniform_values(n, s)) : testing::uniform_values(n, s); };
  h.set_input(0, values(size_t(c.batch * volume(c.input)), seed));
  for (size_t k = 0; k < h.param_specs().size(); ++k)
    h.set_param(k, values(size_t(volume(h.param_specs()[k].dims)), seed + 1 + unsigned(k)));
  h.forward();
  Results r;
  r.output = h.output();
  h.backward(values(r.output.size(), seed + 10));
  if (c.input_grad) r.input_grad = h.input_grad(0);
  for (size_t k = 0; k < h.param_specs().size(); ++k) r.param_grads.push_back(h.param_grad(k));
  r.implementations = h.implementations();
  return r;
}

// The largest relative error of output, input gradient and parameter gradients.
double worst_error(const Results& bf16, const Results& f32) {
  double worst = relative_error(bf16.output, f32.output);
  CAPTURE(worst);
  if (!f32.input_grad.empty()) worst = std::max(worst, relative_error(bf16.input_grad, f32.input_grad));
  for (size_t k = 0; k < f32.param_grads.size(); ++k)
    worst = std::max(worst, relative_error(bf16.param_grads[k], f32.param_grads[k]));
  return worst;
}

std::vector<Case> cases() {
  Attributes conv("conv");
  conv.set("filters", "32");
  conv.set("kernel_size", "5");
  conv.set("activation", "relu");
  Attributes first("conv1");  // a first layer: one channel, no input gradient (f32: graphrun's kernels)
  first.set("filters", "16");
  first.set("kernel_size", "3");
  Attributes blocked("conv3x3");  // 3x3 at stride 1 with 16+ channels (f32: Winograd)
  blocked.set("filters", "16");
  blocked.set("kernel_size", "3");
  blocked.set("padding", "same");
  Attributes dense("fc");
  dense.set("units", "40");
  dense.set("activation", "relu");
  Attributes linear("fc_linear");
  linear.set("units", "24");
  return {{"conv2d", conv, {16, 12, 12}, 4, true},
          {"conv2d", first, {1, 20, 20}, 4, false},
          {"conv2d", blocked, {16, 10, 10}, 3, true},
          {"dense", dense, {96}, 8, true},
          {"dense", linear, {33}, 5, true}};
}

}  // namespace

TEST_CASE("bf16 compute: with values bf16 holds, conv2d and dense equal f32 up to the order of f32 sums") {
  if (testing::skip_without_bf16()) return;
  for (const Case& c : cases()) {
    CAPTURE(c.op);
    CAPTURE(c.input);
    const Results f32 = run(c, memory::data_type::f32, true, 7), bf16 = run(c, memory::data_type::bf16, true, 7);
    CHECK(worst_error(bf16, f32) < 1e-5);
  }
}

TEST_CASE("bf16 compute: with arbitrary values, within bf16's rounding of f32, and not f32 itself") {
  if (testing::skip_without_bf16()) return;
  for (const Case& c : cases()) {
    CAPTURE(c.op);
    CAPTURE(c.input);
    const Results f32 = run(c, memory::data_type::f32, false, 3), bf16 = run(c, memory::data_type::bf16, false, 3);
    const double error = worst_error(bf16, f32);
    CHECK(error < 1e-2);
    CHECK(error > 1e-4);  // bf16 keeps 8 significant bits: an f32 computation would be far closer
  }
}

TEST_CASE("bf16 compute: oneDNN's kernels only, none a reference kernel") {
  if (testing::skip_without_bf16()) return;
  for (const Case& c : cases()) {
    CAPTURE(c.op);
    CAPTURE(c.input);
    const Results bf16 = run(c, memory::data_type::bf16, false, 5);
    REQUIRE(!bf16.implementations.empty());
    for (const std::string& impl : bf16.implementations) {
      CAPTURE(impl);
      CHECK(!is_reference(impl));
      CHECK(impl.rfind("graphrun:", 0) != 0);
    }
  }
}

TEST_CASE("bf16 compute: backward overwrites its gradients, and frozen nodes match trainable ones") {
  if (testing::skip_without_bf16()) return;
  for (const Case& c : cases()) {
    CAPTURE(c.op);
    NodeHarness::Options o;
    o.batch = c.batch;
    o.needs_input_grad = {c.input_grad};
    o.compute = memory::data_type::bf16;
    NodeHarness trainable(testing::registry(), c.op, c.attrs, {c.input}, o);
    CHECK(trainable.check_backward_overwrites().max_error == 0);
    o.frozen = true;
    o.needs_input_grad = {false};
    NodeHarness frozen(testing::registry(), c.op, c.attrs, {c.input}, o);
    const NodeHarness::CheckResult r = frozen.check_against_reference();
    CHECK(r.checked > 0);
    CHECK(r.max_error < 1e-5);
  }
}

TEST_CASE("bf16 compute: an explicit Winograd convolution is refused in bf16") {
  Attributes a("wino");
  a.set("filters", "16");
  a.set("kernel_size", "3");
  a.set("algorithm", "winograd");
  NodeHarness::Options o;
  o.compute = memory::data_type::bf16;
  CHECK_THROWS_WITH_AS(NodeHarness(testing::registry(), "conv2d", a, {{16, 8, 8}}, o),
                       doctest::Contains("winograd has no bf16 kernels"), Error);
}
