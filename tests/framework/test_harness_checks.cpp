// NodeHarness's contract checks catch what they are for: nodes written wrong on purpose,
// registered in a registry of their own.
#include <doctest/doctest.h>
#include <graphrun/error.hpp>
#include <graphrun/harness.hpp>

#include <cmath>
#include <string>

using namespace graphrun;

namespace {

enum class Fault { none, adds_to_gradient, writes_half, drifts, mixes_rows, uses_position };

// y = 2 x on [D] samples, with the fault asked for.
class Doubling : public Node {
 public:
  explicit Doubling(Fault f) : fault_(f) {}
  Shape infer(const std::vector<Shape>& in) override { return in.at(0); }
  dnnl::memory::desc plan(PlanContext& ctx) override {
    n_ = ctx.batch;
    d_ = ctx.input_shapes[0][0];
    ctx.inputs[0] = plain_desc({n_, d_});
    return ctx.inputs[0];
  }
  void forward(ExecContext&) override {
    const float* x = in(0).data();
    float* y = out().data();
    for (int64_t k = 0; k < n_ * d_; ++k) y[k] = 2 * x[k];
    if (fault_ == Fault::mixes_rows)
      for (int64_t k = 0; k < n_ * d_; ++k) y[k] += x[k % d_];  // row 0 leaks into every row
    if (fault_ == Fault::uses_position)
      for (int64_t k = 0; k < n_ * d_; ++k) y[k] += float(k / d_);
  }
  void backward(ExecContext&) override {
    if (!in_grad(0)) return;
    const float* g = out_grad().data();
    float* dx = in_grad(0)->data();
    const int64_t end = fault_ == Fault::writes_half ? n_ * d_ / 2 : n_ * d_;
    for (int64_t k = 0; k < end; ++k) {
      const float v = 2 * g[k] + (fault_ == Fault::drifts ? float(runs_) : 0.f);
      dx[k] = fault_ == Fault::adds_to_gradient ? dx[k] + v : v;
    }
    ++runs_;
  }

 private:
  Fault fault_;
  int64_t n_ = 0, d_ = 0, runs_ = 0;
};

Registry with(Fault f) {
  Registry r;
  OpInfo op;
  op.name = "doubling";
  op.batch_mixing = BatchMixing::none;
  op.make = [f](const Attributes&) { return std::make_unique<Doubling>(f); };
  r.add(op);
  return r;
}

NodeHarness::Options batch(int64_t n) {
  NodeHarness::Options o;
  o.batch = n;
  return o;
}

}  // namespace

TEST_CASE("harness checks: a correct node passes both") {
  const Registry r = with(Fault::none);
  NodeHarness h(r, "doubling", Attributes("d"), {{3}}, batch(4));
  const auto over = h.check_backward_overwrites();
  CHECK(over.checked == 12);
  CHECK(over.max_error == 0);
  const auto perm = h.check_batch_permutation();
  CHECK(perm.checked == 24);  // output and input gradient
  CHECK(perm.max_error == 0);
}

TEST_CASE("harness checks: backward that adds to, leaves or changes its gradient is caught") {
  for (Fault f : {Fault::adds_to_gradient, Fault::writes_half, Fault::drifts}) {
    CAPTURE(int(f));
    const Registry r = with(f);
    NodeHarness h(r, "doubling", Attributes("d"), {{3}}, batch(4));
    const auto res = h.check_backward_overwrites();
    INFO(res.worst);
    CHECK(res.max_error > 0.1);
    CHECK(res.worst.find("input 0 gradient") == 0);
    const bool nan = f != Fault::drifts;
    CHECK(std::isinf(res.max_error) == nan);
    CHECK(res.worst.find(nan ? "left unwritten or added to" : "changed it") != std::string::npos);
  }
}

TEST_CASE("harness checks: a node declaring no batch mixing that mixes rows or uses positions is caught") {
  for (Fault f : {Fault::mixes_rows, Fault::uses_position}) {
    CAPTURE(int(f));
    const Registry r = with(f);
    NodeHarness h(r, "doubling", Attributes("d"), {{3}}, batch(4));
    const auto res = h.check_batch_permutation();
    INFO(res.worst);
    CHECK(res.max_error > 0.1);
    CHECK(res.worst.find("output") == 0);
  }
}

TEST_CASE("harness checks: the permutation check refuses an op that declares batch mixing, and a batch of 1") {
  Registry r;
  OpInfo op;
  op.name = "mixing";
  op.make = [](const Attributes&) { return std::make_unique<Doubling>(Fault::none); };  // batch_mixing: always
  r.add(op);
  NodeHarness h(r, "mixing", Attributes("m"), {{2}}, batch(3));
  CHECK_THROWS_WITH_AS(h.check_batch_permutation(), doctest::Contains("mixes the samples of a batch"), Error);
  const Registry ok = with(Fault::none);
  NodeHarness one(ok, "doubling", Attributes("d"), {{2}}, batch(1));
  CHECK_THROWS_WITH_AS(one.check_batch_permutation(), doctest::Contains("a batch of 2 or more"), Error);
}
