#include "graph/initializers.hpp"

#include <graphrun/error.hpp>

#include <cmath>
#include <cstdio>
#include <random>

namespace graphrun {
namespace {

struct Parsed {
  std::string name;
  std::vector<double> args;
};

Parsed parse(const std::string& init) {
  Parsed p;
  auto open = init.find('(');
  p.name = init.substr(0, open);
  if (open != std::string::npos) {
    auto close = init.rfind(')');
    if (close == std::string::npos || close < open) throw Error("initializer '" + init + "': missing ')'");
    std::string args = init.substr(open + 1, close - open - 1);
    size_t pos = 0;
    while (pos < args.size()) {
      size_t comma = args.find(',', pos);
      std::string item = args.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
      try {
        p.args.push_back(std::stod(item));
      } catch (...) {
        throw Error("initializer '" + init + "': '" + item + "' is not a number");
      }
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
  }
  return p;
}

void expect_args(const Parsed& p, const std::string& init, size_t n) {
  if (p.args.size() != n)
    throw Error("initializer '" + init + "' takes " + std::to_string(n) + " argument(s), e.g. normal(0, 0.01) or constant(0.5)");
}

// Uniform doubles from a 64-bit generator, the same on every standard library.
double uniform01(std::mt19937_64& rng) { return (rng() >> 11) * (1.0 / 9007199254740992.0); }

double standard_normal(std::mt19937_64& rng) {  // Box-Muller
  double u1 = uniform01(rng), u2 = uniform01(rng);
  if (u1 < 1e-300) u1 = 1e-300;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

}  // namespace

void check_initializer(const std::string& init) {
  Parsed p = parse(init);
  if (p.name == "glorot_uniform" || p.name == "he_normal" || p.name == "zeros" || p.name == "ones") return expect_args(p, init, 0);
  if (p.name == "normal") return expect_args(p, init, 2);
  if (p.name == "constant") return expect_args(p, init, 1);
  throw Error("unknown initializer '" + init + "' (known: glorot_uniform, he_normal, zeros, ones, normal(mean, std), constant(value))");
}

void initialize(Tensor& t, const std::string& init, const ParamSpec& spec, uint64_t seed) {
  check_initializer(init);
  Parsed p = parse(init);
  std::mt19937_64 rng(seed);
  float* x = t.data();
  const size_t n = static_cast<size_t>(volume(t.dims()));
  if (p.name == "zeros" || p.name == "ones" || p.name == "constant") {
    const float v = p.name == "zeros" ? 0.f : p.name == "ones" ? 1.f : float(p.args[0]);
    for (size_t i = 0; i < n; ++i) x[i] = v;
  } else if (p.name == "glorot_uniform") {
    const double limit = std::sqrt(6.0 / double(spec.fan_in + spec.fan_out));
    for (size_t i = 0; i < n; ++i) x[i] = float((2 * uniform01(rng) - 1) * limit);
  } else if (p.name == "he_normal") {  // Keras: truncated normal, redrawn beyond 2 std
    const double std = std::sqrt(2.0 / double(spec.fan_in)) / 0.87962566103423978;
    for (size_t i = 0; i < n; ++i) {
      double z;
      do z = standard_normal(rng); while (std::abs(z) > 2);
      x[i] = float(z * std);
    }
  } else {  // normal(mean, std)
    for (size_t i = 0; i < n; ++i) x[i] = float(p.args[0] + p.args[1] * standard_normal(rng));
  }
}

}  // namespace graphrun
