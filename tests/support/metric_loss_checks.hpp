#pragma once
// What every metric-learning loss (embeddings [D] and class ids [1] of a class-balanced
// batch, a scalar out) must do alike, checked through the real plugin.
#include <doctest/doctest.h>
#include <graphrun/harness.hpp>
#include <graphrun/primitives.hpp>

#include "harness_options.hpp"
#include "plugins.hpp"

#include <random>
#include <string>
#include <vector>

namespace graphrun::testing {

// Embeddings x (size() rows of dim) and their class ids y.
struct MetricBatch {
  std::vector<float> x, y;
  size_t dim;
  size_t size() const { return y.size(); }
};

// `classes` x `per_class` samples around random centres, classes interleaved; class c
// has the id id(c).
template <class Id>
MetricBatch clustered_batch(size_t classes, size_t per_class, size_t dim, uint32_t seed, float spread, Id id) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uni(-1.f, 1.f);
  std::vector<std::vector<float>> centre(classes, std::vector<float>(dim));
  for (auto& c : centre)
    for (auto& v : c) v = 1.5f * uni(rng);
  MetricBatch b{{}, {}, dim};
  for (size_t r = 0; r < per_class; ++r)
    for (size_t c = 0; c < classes; ++c) {
      for (size_t k = 0; k < dim; ++k) b.x.push_back(centre[c][k] + spread * uni(rng));
      b.y.push_back(id(c));
    }
  return b;
}

// The loss op's forward value on the batch.
inline double metric_loss(const std::string& op, const Attributes& a, const MetricBatch& b) {
  NodeHarness h(registry(), op, a, {{int64_t(b.dim)}, {1}}, batch_of(int64_t(b.size()), {true, false}));
  h.set_input(0, b.x);
  h.set_input(1, b.y);
  h.forward();
  return h.output().at(0);
}

// A loss of two inputs that mixes the batch, a scalar output, and jit (not reference)
// primitives for its two matmuls: the Gram matrix and the gradient.
inline void check_metric_loss_info(const std::string& op, const Attributes& attrs) {
  const OpInfo* info = registry().find(op);
  REQUIRE(info != nullptr);
  CHECK(info->is_loss);
  CHECK(info->batch_mixing == BatchMixing::always);
  CHECK(info->min_inputs == 2);
  CHECK(info->max_inputs == 2);
  NodeHarness h(registry(), op, attrs, {{64}, {1}}, batch_of(60, {true, false}));
  CHECK(h.output_shape() == Shape{});
  const auto impls = h.implementations();
  CHECK(impls.size() == 2);
  for (const auto& impl : impls) {
    CAPTURE(impl);
    CHECK_FALSE(is_reference(impl));
  }
}

// A batch of one class (of 4 samples, or of 1), with random embeddings or the zero-filled
// ones of the executor's warm-up pass, costs 0 and gives no gradient.
inline void check_single_class_batches(const std::string& op, const Attributes& attrs, float class_id) {
  for (const std::vector<float>& y : {std::vector<float>(4, class_id), std::vector<float>(4, 0.f), std::vector<float>{class_id}}) {
    CAPTURE(y.size());
    for (bool zeros : {false, true}) {
      CAPTURE(zeros);
      const int64_t n = int64_t(y.size());
      NodeHarness h(registry(), op, attrs, {{3}, {1}}, batch_of(n, {true, false}));
      if (zeros) h.set_input(0, std::vector<float>(size_t(n * 3), 0.f));
      h.set_input(1, y);
      h.forward();
      CHECK(h.output()[0] == 0.f);
      h.backward({1});
      for (float g : h.input_grad(0)) CHECK(g == 0.f);
    }
  }
}

}  // namespace graphrun::testing
