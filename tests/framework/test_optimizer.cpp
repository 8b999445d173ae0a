// RMSprop against TensorFlow's ApplyRMSProp written out in double precision, with and
// without momentum (the two run different loops), on a parameter large enough to be
// updated in parallel chunks.
#include <doctest/doctest.h>

#include "train/optimizer.hpp"

#include <cmath>
#include <random>

using namespace graphrun;

namespace {

void check_rmsprop(double momentum) {
  const double lr = 0.01, rho = 0.9, eps = 1e-7;
  const int64_t n = 40000;
  const size_t count = 40000;
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  std::vector<Parameter> params(1);
  Parameter& p = params[0];
  p.name = "w";
  p.spec.dims = {n};
  p.value = Tensor(plain_desc({n}), eng);
  p.grad = Tensor(plain_desc({n}), eng);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> uni(-1, 1);
  std::vector<double> w(count), ms(count, 0.0), mom(count, 0.0);
  for (int64_t i = 0; i < n; ++i) w[size_t(i)] = p.value.data()[i] = uni(rng);
  auto opt = make_optimizer("rmsprop", {{"learning_rate", lr}, {"rho", rho}, {"momentum", momentum}});
  for (int step = 0; step < 3; ++step) {
    for (int64_t i = 0; i < n; ++i) {
      const float g = uni(rng);
      p.grad.data()[i] = g;
      ms[size_t(i)] = rho * ms[size_t(i)] + (1 - rho) * double(g) * g;
      mom[size_t(i)] = momentum * mom[size_t(i)] + lr * g / std::sqrt(ms[size_t(i)] + eps);
      w[size_t(i)] -= mom[size_t(i)];
    }
    opt->step(params);
  }
  for (int64_t i = 0; i < n; i += 97) CHECK(p.value.data()[i] == doctest::Approx(w[size_t(i)]).epsilon(1e-5));
  const auto state = opt->state(params);
  for (int64_t i = 0; i < n; i += 97) CHECK(state.at("w/rms")[size_t(i)] == doctest::Approx(ms[size_t(i)]).epsilon(1e-5));
}

}  // namespace

TEST_CASE("optimizer: rmsprop without momentum follows TensorFlow's rule") { check_rmsprop(0.0); }
TEST_CASE("optimizer: rmsprop with momentum follows TensorFlow's rule") { check_rmsprop(0.5); }
