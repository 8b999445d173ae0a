// The contract checks every op is run through (tests/ops/test_all_ops_contract.cpp):
// backward overwrites its gradients, and an op that declares no batch mixing treats the
// rows of a batch independently.
#include "harness_impl.hpp"

#include <graphrun/error.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>

namespace graphrun {
namespace {

std::vector<float> random_values(size_t count, uint64_t seed) {
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::uniform_real_distribution<float> uni(-1.f, 1.f);
  std::vector<float> v(count);
  for (auto& x : v) x = uni(rng);
  return v;
}

// Row i of the result is row (i + 1) % batch of v: every row moves.
std::vector<float> rotate_rows(const std::vector<float>& v, int64_t batch) {
  const size_t per = v.size() / size_t(batch);
  std::vector<float> out(v.size());
  for (int64_t i = 0; i < batch; ++i)
    std::copy_n(v.begin() + long(size_t((i + 1) % batch) * per), per, out.begin() + long(size_t(i) * per));
  return out;
}

// Folds |a - b| / max(1, |a|, |b|) over two runs of one tensor into the result; a value
// that is not finite counts as an infinite error and is described by `why`.
void compare(NodeHarness::CheckResult& r, const std::string& label, const std::vector<float>& expected,
             const std::vector<float>& got, const std::string& why) {
  for (size_t k = 0; k < expected.size() && k < got.size(); ++k) {
    const double a = expected[k], b = got[k];
    const bool finite = std::isfinite(a) && std::isfinite(b);
    const double err = finite ? std::abs(a - b) / std::max({1.0, std::abs(a), std::abs(b)})
                              : std::numeric_limits<double>::infinity();
    ++r.checked;
    if (err > r.max_error) {
      r.max_error = err;
      r.worst = label + "[" + std::to_string(k) + "]: " + std::to_string(a) + " then " + std::to_string(b) + " (" +
                (finite ? why : "not finite: a NaN the buffer was filled with was left unwritten or added to") + ")";
    }
  }
}

}  // namespace

NodeHarness::CheckResult NodeHarness::check_backward_overwrites() {
  Impl& m = *impl_;
  std::vector<std::pair<std::string, Tensor*>> grads;
  for (size_t i = 0; i < m.inputs.size(); ++i)
    if (m.opt.needs_input_grad[i]) grads.emplace_back("input " + std::to_string(i) + " gradient", &m.input_grads[i]);
  for (size_t i = 0; i < m.params.size(); ++i)
    if (!m.param_grads[i].empty()) grads.emplace_back("param " + specs_[i].name + " gradient", &m.param_grads[i]);
  forward();
  const std::vector<float> g = random_values(size_t(volume(m.output.dims())), m.opt.seed + 11);
  for (auto& [label, t] : grads) {
    const std::vector<float> garbage(size_t(volume(t->dims())), std::numeric_limits<float>::quiet_NaN());
    t->set_plain_values(garbage.data());  // padding of a blocked layout stays zero
  }
  backward(g);
  std::vector<std::vector<float>> first;
  for (auto& [label, t] : grads) first.push_back(t->plain_values());
  backward(g);
  CheckResult r;
  for (size_t k = 0; k < grads.size(); ++k)
    compare(r, grads[k].first, first[k], grads[k].second->plain_values(),
            "a second backward with the same output gradient changed it: added to?");
  return r;
}

NodeHarness::CheckResult NodeHarness::check_batch_permutation() {
  Impl& m = *impl_;
  if (m.info->batch_mixing != BatchMixing::none)
    throw Error("harness: op '" + m.info->name + "' mixes the samples of a batch: no permutation check applies");
  CheckResult r;
  if (m.inputs.empty()) return r;
  const int64_t n = m.opt.batch;
  if (n < 2) throw Error("harness: the permutation check needs a batch of 2 or more");
  std::vector<std::vector<float>> x0;
  for (size_t i = 0; i < m.inputs.size(); ++i) x0.push_back(input(i));
  auto gradients = [&] {
    std::vector<std::vector<float>> in, p;
    for (size_t i = 0; i < m.inputs.size(); ++i) in.push_back(m.opt.needs_input_grad[i] ? input_grad(i) : std::vector<float>{});
    for (size_t i = 0; i < m.params.size(); ++i) p.push_back(m.param_grads[i].empty() ? std::vector<float>{} : param_grad(i));
    return std::make_pair(in, p);
  };
  forward();
  const std::vector<float> y0 = output();
  const std::vector<float> g = random_values(y0.size(), m.opt.seed + 13);
  backward(g);
  const auto [in0, p0] = gradients();

  for (size_t i = 0; i < m.inputs.size(); ++i) set_input(i, rotate_rows(x0[i], n));
  forward();
  compare(r, "output", rotate_rows(y0, n), output(), "rotating the input rows did more than rotate the output rows");
  backward(rotate_rows(g, n));
  const auto [in1, p1] = gradients();
  for (size_t i = 0; i < m.inputs.size(); ++i)
    compare(r, "input " + std::to_string(i) + " gradient", rotate_rows(in0[i], n), in1[i],
            "rotating the rows did more than rotate this gradient's rows");
  for (size_t i = 0; i < m.params.size(); ++i)
    compare(r, "param " + specs_[i].name + " gradient", p0[i], p1[i], "rotating the batch rows changed it");
  for (size_t i = 0; i < m.inputs.size(); ++i) set_input(i, x0[i]);
  return r;
}

}  // namespace graphrun
