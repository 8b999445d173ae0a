#include "train/optimizer.hpp"

#include "target_clones.hpp"

#include <graphrun/error.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

namespace graphrun {
namespace {

double arg(const std::map<std::string, double>& args, const std::string& key, double fallback) {
  auto it = args.find(key);
  return it == args.end() ? fallback : it->second;
}

// The element-wise update rules, compiled for AVX-512, AVX2 and the baseline (the loader
// picks what the machine has: the baseline's 4-lane square roots and divisions made
// RMSprop 5-7% of an R3 step). Large tensors are split into chunks across the threads;
// neither changes any result.
#define GRAPHRUN_VECTOR_CLONES GRAPHRUN_TARGET_CLONES("avx512f", "avx2", "default")

GRAPHRUN_VECTOR_CLONES void sgd_rule(float* w, const float* g, float* v, size_t n, float lr, float mu, bool nesterov) {
  for (size_t i = 0; i < n; ++i) {
    v[i] = mu * v[i] - lr * g[i];
    w[i] += nesterov ? mu * v[i] - lr * g[i] : v[i];
  }
}

GRAPHRUN_VECTOR_CLONES void adam_rule(float* w, const float* g, float* m, float* v, size_t n, float lr_t, float b1,
                                      float b2, float eps) {
  for (size_t i = 0; i < n; ++i) {
    m[i] = b1 * m[i] + (1 - b1) * g[i];
    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
    w[i] -= lr_t * m[i] / (std::sqrt(v[i]) + eps);  // epsilon added to sqrt(v), as TensorFlow's ApplyAdam
  }
}

GRAPHRUN_VECTOR_CLONES void rmsprop_rule(float* w, const float* g, float* ms, float* mom, size_t n, float lr, float rho,
                                         float mu, float eps) {
  for (size_t i = 0; i < n; ++i) {  // TensorFlow's ApplyRMSProp: epsilon inside the square root
    ms[i] = rho * ms[i] + (1 - rho) * g[i] * g[i];
    mom[i] = mu * mom[i] + lr * g[i] / std::sqrt(ms[i] + eps);
    w[i] -= mom[i];
  }
}

// Without momentum the update needs no momentum slot: two memory streams fewer in a rule
// bound by memory (the slot stays zero, which is what a momentum of zero makes of it).
GRAPHRUN_VECTOR_CLONES void rmsprop_rule_no_momentum(float* w, const float* g, float* ms, size_t n, float lr,
                                                     float rho, float eps) {
  for (size_t i = 0; i < n; ++i) {
    ms[i] = rho * ms[i] + (1 - rho) * g[i] * g[i];
    w[i] -= lr * g[i] / std::sqrt(ms[i] + eps);
  }
}

// Calls rule(begin, count) over [0, n) in chunks, on all threads when n is large.
template <class Rule>
void in_chunks(size_t n, Rule rule) {
  constexpr size_t kChunk = 1 << 13, kParallelFrom = 1 << 15;
  const int64_t chunks = int64_t((n + kChunk - 1) / kChunk);
#pragma omp parallel for if (n >= kParallelFrom)
  for (int64_t c = 0; c < chunks; ++c) {
    const size_t begin = size_t(c) * kChunk;
    rule(begin, std::min(kChunk, n - begin));
  }
}

class Sgd : public Optimizer {
 public:
  Sgd(double lr, double momentum, bool nesterov) : Optimizer(lr), momentum_(momentum), nesterov_(nesterov) {}
  std::vector<std::string> slot_names() const override { return {"momentum"}; }
  void update(float* w, const float* g, std::vector<std::vector<float>>& s, size_t n) override {
    float* v = s[0].data();
    const float lr = float(lr_), mu = float(momentum_);
    in_chunks(n, [&](size_t b, size_t k) { sgd_rule(w + b, g + b, v + b, k, lr, mu, nesterov_); });
  }

 private:
  double momentum_;
  bool nesterov_;
};

class Adam : public Optimizer {
 public:
  Adam(double lr, double b1, double b2, double eps) : Optimizer(lr), b1_(b1), b2_(b2), eps_(eps) {}
  std::vector<std::string> slot_names() const override { return {"m", "v"}; }
  void update(float* w, const float* g, std::vector<std::vector<float>>& s, size_t n) override {
    float* m = s[0].data();
    float* v = s[1].data();
    const double t = double(iterations_);
    const float lr_t = float(lr_ * std::sqrt(1 - std::pow(b2_, t)) / (1 - std::pow(b1_, t)));
    const float b1 = float(b1_), b2 = float(b2_), eps = float(eps_);
    in_chunks(n, [&](size_t b, size_t k) { adam_rule(w + b, g + b, m + b, v + b, k, lr_t, b1, b2, eps); });
  }

 private:
  double b1_, b2_, eps_;
};

class RmsProp : public Optimizer {
 public:
  RmsProp(double lr, double rho, double momentum, double eps) : Optimizer(lr), rho_(rho), momentum_(momentum), eps_(eps) {}
  std::vector<std::string> slot_names() const override { return {"rms", "momentum"}; }
  void update(float* w, const float* g, std::vector<std::vector<float>>& s, size_t n) override {
    float* ms = s[0].data();
    float* mom = s[1].data();
    const float lr = float(lr_), rho = float(rho_), mu = float(momentum_), eps = float(eps_);
    if (mu == 0.f)
      in_chunks(n, [&](size_t b, size_t k) { rmsprop_rule_no_momentum(w + b, g + b, ms + b, k, lr, rho, eps); });
    else
      in_chunks(n, [&](size_t b, size_t k) { rmsprop_rule(w + b, g + b, ms + b, mom + b, k, lr, rho, mu, eps); });
  }

 private:
  double rho_, momentum_, eps_;
};

}  // namespace

// Slots are laid out like their parameter (elementwise rules need nothing else); a
// parameter re-laid by a plan after its slots exist takes them along.
void Optimizer::ensure_slots(const std::vector<Parameter>& params) {
  if (slots_.size() != params.size()) {
    slots_.assign(params.size(), {});
    slot_layouts_.assign(params.size(), {});
    for (size_t p = 0; p < params.size(); ++p)
      if (params[p].trainable) {
        slots_[p].assign(slot_names().size(), std::vector<float>(params[p].value.size(), 0.f));
        slot_layouts_[p] = params[p].value.desc();
      }
  }
  for (size_t p = 0; p < params.size(); ++p) {
    if (!params[p].trainable || slot_layouts_[p] == params[p].value.desc()) continue;
    for (auto& slot : slots_[p]) {
      const std::vector<float> plain = to_plain_values(slot_layouts_[p], slot.data());
      slot.assign(params[p].value.size(), 0.f);
      from_plain_values(params[p].value.desc(), plain.data(), slot.data());
    }
    slot_layouts_[p] = params[p].value.desc();
  }
}

void Optimizer::step(std::vector<Parameter>& params) {
  ensure_slots(params);
  ++iterations_;
  for (size_t p = 0; p < params.size(); ++p) {
    Parameter& prm = params[p];
    if (!prm.trainable) continue;
    // Padding of a blocked layout included: zero, and stays so.
    update(prm.value.data(), prm.grad.data(), slots_[p], prm.value.size());
  }
}

std::map<std::string, std::vector<float>> Optimizer::state(const std::vector<Parameter>& params) {
  ensure_slots(params);
  std::map<std::string, std::vector<float>> out;
  const auto names = slot_names();
  for (size_t p = 0; p < params.size(); ++p)
    for (size_t s = 0; s < slots_[p].size(); ++s)
      out[params[p].name + "/" + names[s]] = to_plain_values(slot_layouts_[p], slots_[p][s].data());
  return out;
}

bool Optimizer::set_state(const std::vector<Parameter>& params, const std::string& key, const std::vector<float>& plain) {
  ensure_slots(params);
  const auto names = slot_names();
  for (size_t p = 0; p < params.size(); ++p)
    for (size_t s = 0; s < slots_[p].size(); ++s) {
      if (params[p].name + "/" + names[s] != key) continue;
      if (int64_t(plain.size()) != volume(params[p].spec.dims)) return false;
      from_plain_values(slot_layouts_[p], plain.data(), slots_[p][s].data());
      return true;
    }
  return false;
}

namespace {

const std::map<std::string, std::set<std::string>>& optimizer_settings() {
  static const std::map<std::string, std::set<std::string>> known = {
      {"sgd", {"learning_rate", "momentum", "nesterov"}},
      {"adam", {"learning_rate", "beta_1", "beta_2", "epsilon"}},
      {"rmsprop", {"learning_rate", "rho", "momentum", "epsilon"}}};
  return known;
}

std::string joined(const std::set<std::string>& names) {
  std::string list;
  for (const auto& a : names) list += (list.empty() ? "" : ", ") + a;
  return list;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

std::string optimizer_setting_error(const std::string& name, const std::string& key, double v) {
  const auto& known = optimizer_settings();
  auto it = known.find(name);
  if (it == known.end()) {
    std::set<std::string> names;
    for (const auto& [n, _] : known) names.insert(n);
    return "unknown optimizer '" + name + "' (known: " + joined(names) + ")";
  }
  if (key.empty()) return "";
  if (!it->second.count(key)) return "optimizer " + name + ": unknown setting '" + key + "' (known: " + joined(it->second) + ")";
  // Written so that NaN fails every test.
  const bool ok = key == "learning_rate" || key == "epsilon" ? (std::isfinite(v) && v > 0)
                  : key == "nesterov"                       ? (v == 0 || v == 1)
                                                            : (v >= 0 && v < 1);  // rho, momentum, beta_1, beta_2
  if (ok) return "";
  const std::string expected = key == "learning_rate" || key == "epsilon" ? "a positive finite number"
                               : key == "nesterov"                       ? "0 or 1 (false or true)"
                                                                         : "a number in [0, 1)";
  return "optimizer " + name + ": " + key + " must be " + expected + ", got " + number(v);
}

std::unique_ptr<Optimizer> make_optimizer(const std::string& name, const std::map<std::string, double>& args) {
  if (std::string e = optimizer_setting_error(name, "", 0); !e.empty()) throw Error(e);
  for (const auto& [k, v] : args)
    if (std::string e = optimizer_setting_error(name, k, v); !e.empty()) throw Error(e);
  if (name == "sgd")
    return std::make_unique<Sgd>(arg(args, "learning_rate", 0.01), arg(args, "momentum", 0.0), arg(args, "nesterov", 0) != 0);
  if (name == "adam")
    return std::make_unique<Adam>(arg(args, "learning_rate", 0.001), arg(args, "beta_1", 0.9), arg(args, "beta_2", 0.999),
                                  arg(args, "epsilon", 1e-7));
  return std::make_unique<RmsProp>(arg(args, "learning_rate", 0.001), arg(args, "rho", 0.9), arg(args, "momentum", 0.0),
                                   arg(args, "epsilon", 1e-7));
}

}  // namespace graphrun
