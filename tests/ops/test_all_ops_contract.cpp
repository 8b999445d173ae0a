// The contract every registered op keeps, checked through NodeHarness: backward overwrites
// its input and parameter gradients (never adds to them, never leaves parts unwritten),
// an op declaring BatchMixing::none treats the rows of a batch independently, and what a
// plan offers (the frozen case, the readers it may fuse, an output extent) changes no
// value the readers see. The
// table below has cases for every op; an op in the registry without one fails the test,
// so a new op cannot escape it.
#include <doctest/doctest.h>
#include <graphrun/harness.hpp>

#include "attribute_text.hpp"
#include "plugins.hpp"

#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

using namespace graphrun;
using tag = dnnl::memory::format_tag;

namespace {

struct Case {
  std::string name;
  std::vector<std::pair<std::string, std::string>> attrs;  // "[3, 2]" is a list
  std::vector<Shape> inputs;
  std::vector<bool> needs_input_grad{};  // default: every input
  std::vector<tag> layouts{};           // what the producers deliver; default plain
  int64_t batch = 4;
  std::function<void(NodeHarness&)> prepare{};  // valid input values, where random ones are not
  // Draws its training randomness per batch position (dropout's masks): permuting the rows
  // then permutes the inputs but not the masks, so it is permuted in eval mode only.
  bool random_per_position = false;
  int64_t batch_groups = 1;  // stacked tower uses (PlanContext::batch_groups)
};

// Input i set to f(sample, k) for its k-th value of each sample.
void fill(NodeHarness& h, size_t i, const std::function<float(int64_t, size_t)>& f) {
  std::vector<float> v = h.input(i);
  const size_t per = v.size() / size_t(h.batch());
  for (size_t k = 0; k < v.size(); ++k) v[k] = f(int64_t(k / per), k % per);
  h.set_input(i, v);
}

void probabilities_and_labels(NodeHarness& h) {  // a prediction in (0.1, 0.9), labels 0 1 0 1
  fill(h, 0, [](int64_t s, size_t) { return 0.2f + 0.15f * float(s); });
  fill(h, 1, [](int64_t s, size_t) { return float(s % 2); });
}

// The harness fills state with values in [-1, 1]: a negative moving variance has no root.
void positive_variance(NodeHarness& h) {
  for (size_t i = 0; i < h.param_specs().size(); ++i)
    if (h.param_specs()[i].name == "moving_variance") {
      std::vector<float> v = h.param(i);
      for (auto& x : v) x = 0.5f + std::abs(x);
      h.set_param(i, v);
    }
}

void class_ids(NodeHarness& h) {  // classes 0 0 1 1 (a positive and a negative for each)
  fill(h, 1, [](int64_t s, size_t) { return float(s / 2); });
}

const std::map<std::string, std::vector<Case>>& table() {
  static const std::map<std::string, std::vector<Case>> t{
      {"input", {{"a graph input", {{"shape", "[3]"}}, {}}}},
      {"flatten", {{"plain", {}, {{2, 3, 3}}}, {"from nhwc", {}, {{2, 3, 3}}, {}, {tag::nhwc}}}},
      {"dense",
       {{"relu", {{"units", "3"}, {"activation", "relu"}}, {{5}}},
        {"softmax, no bias", {{"units", "4"}, {"activation", "softmax"}, {"use_bias", "false"}}, {{3}}},
        {"no input gradient", {{"units", "2"}}, {{3}}, {false}},
        {"batch 32", {{"units", "8"}, {"activation", "tanh"}}, {{16}}, {}, {}, 32}}},
      {"activation",
       {{"relu", {{"function", "relu"}}, {{6}}},
        {"sigmoid", {{"function", "sigmoid"}}, {{2, 3}}},
        {"tanh, nhwc", {{"function", "tanh"}}, {{2, 3, 3}}, {}, {tag::nhwc}},
        {"softmax", {{"function", "softmax"}}, {{5}}},
        {"linear", {{"function", "linear"}}, {{4}}}}},
      {"dropout", {{"rate 0.5", {{"rate", "0.5"}}, {{8}}, {}, {}, 4, {}, true}}},
      {"conv2d",
       {{"2 -> 3, nchw", {{"filters", "3"}, {"kernel_size", "3"}, {"activation", "tanh"}}, {{2, 5, 5}}},
        {"2 -> 3, nhwc (gemm data gradient)", {{"filters", "3"}, {"kernel_size", "3"}}, {{2, 5, 5}}, {}, {tag::nhwc}},
        {"same, stride 2", {{"filters", "4"}, {"kernel_size", "[3, 2]"}, {"strides", "2"}, {"padding", "same"}},
         {{3, 7, 6}}},
        {"one channel, 4 filters (own kernels)", {{"filters", "4"}, {"kernel_size", "5"}}, {{1, 8, 8}}},
        {"one channel, 16 filters", {{"filters", "16"}, {"kernel_size", "3"}, {"activation", "sigmoid"}}, {{1, 6, 6}}},
        {"16 -> 32 3x3 (Winograd)", {{"filters", "32"}, {"kernel_size", "3"}}, {{16, 6, 6}}, {}, {tag::nChw16c}},
        {"16 -> 16 blocked", {{"filters", "16"}, {"kernel_size", "3"}, {"padding", "same"}}, {{16, 5, 5}}, {},
         {tag::nChw8c}},
        {"no input gradient", {{"filters", "3"}, {"kernel_size", "3"}}, {{1, 6, 6}}, {false}}}},
      {"max_pool2d",
       {{"2x2", {}, {{2, 6, 6}}},
        {"3 stride 2 same, nhwc", {{"pool_size", "3"}, {"strides", "2"}, {"padding", "same"}}, {{3, 7, 5}}, {},
         {tag::nhwc}},
        {"blocked", {}, {{16, 4, 4}}, {}, {tag::nChw8c}}}},
      {"avg_pool2d",
       {{"2x2", {}, {{2, 6, 6}}},
        {"3 stride 2 same, nhwc", {{"pool_size", "3"}, {"strides", "2"}, {"padding", "same"}}, {{3, 7, 5}}, {},
         {tag::nhwc}}}},
      {"batch_norm",
       {{"features", {}, {{5}}, {}, {}, 4, positive_variance},
        {"channels, relu", {{"activation", "relu"}}, {{3, 4, 4}}, {}, {}, 4, positive_variance},
        {"no scale", {{"scale", "false"}}, {{4}}, {}, {}, 4, positive_variance},
        {"16 channels, nChw8c", {}, {{16, 3, 3}}, {}, {tag::nChw8c}, 4, positive_variance},
        {"one channel, two stacked uses", {}, {{1, 4, 4}}, {}, {}, 4, positive_variance, false, 2}}},
      {"concat", {{"two", {}, {{2}, {3}}}, {"three, axis 0", {{"axis", "0"}}, {{1, 2}, {2, 2}, {1, 2}}}}},
      {"subtract", {{"plain", {}, {{3}, {3}}}, {"only b", {}, {{3}, {3}}, {false, true}}}},
      {"l1_distance", {{"plain", {}, {{3}, {3}}}, {"only b", {}, {{3}, {3}}, {false, true}}}},
      {"euclidean_distance", {{"plain", {}, {{4}, {4}}}, {"only a", {}, {{4}, {4}}, {true, false}}}},
      {"product_sum", {{"plain", {}, {{4}, {4}}}, {"only b", {}, {{4}, {4}}, {false, true}}}},
      {"cosine_similarity", {{"plain", {}, {{4}, {4}}}, {"only a", {}, {{4}, {4}}, {true, false}}}},
      {"pairwise_distance",
       {{"euclidean", {}, {{3}, {3}}}, {"cosine, only Y", {{"metric", "cosine"}}, {{3}, {3}}, {false, true}}}},
      {"binary_crossentropy", {{"mean", {}, {{1}, {1}}, {}, {}, 4, probabilities_and_labels}}},
      {"contrastive_loss",
       {{"distance", {}, {{1}, {1}}, {}, {}, 4, probabilities_and_labels},
        {"similarity", {{"prediction", "similarity"}}, {{1}, {1}}, {}, {}, 4, probabilities_and_labels}}},
      {"categorical_crossentropy",
       {{"class index", {}, {{3}, {1}}, {}, {}, 4,
         [](NodeHarness& h) {
           fill(h, 0, [](int64_t, size_t k) { return 0.2f + 0.1f * float(k); });
           fill(h, 1, [](int64_t s, size_t) { return float(s % 3); });
         }},
        {"one-hot", {}, {{3}, {3}}, {}, {}, 4, [](NodeHarness& h) {
           fill(h, 0, [](int64_t, size_t k) { return 0.2f + 0.1f * float(k); });
           fill(h, 1, [](int64_t s, size_t k) { return float(int64_t(k) == s % 3); });
         }}}},
      {"triplet_loss", {{"batch hard", {}, {{3}, {1}}, {}, {}, 4, class_ids}}},
      {"multi_similarity_loss", {{"mined pairs", {}, {{3}, {1}}, {}, {}, 4, class_ids}}},
      {"prototypical_loss", {{"one shot", {}, {{3}, {1}}, {}, {}, 4, class_ids}}},
      {"cosface_loss", {{"three classes", {{"classes", "3"}}, {{3}, {1}}, {}, {}, 4, class_ids}}},
      {"loss_sum", {{"two losses", {{"factors", "[1, 0.5]"}}, {{}, {}}}}},
  };
  return t;
}

// What a plan may offer a node, on top of a case.
struct Offer {
  bool frozen = false;
  std::vector<std::pair<std::string, Attributes>> readers{};
  Shape output_extent{};
};

Attributes attrs(const std::string& node, std::vector<std::pair<std::string, std::string>> values) {
  Attributes a(node);
  for (const auto& [k, v] : values) a.set(k, v);
  return a;
}

std::unique_ptr<NodeHarness> make(const std::string& op, const Case& c, Mode mode, const Offer& offer = {}) {
  Attributes a(op);
  for (const auto& [k, v] : c.attrs) a.set(k, testing::attribute_value(v));
  NodeHarness::Options o;
  o.frozen = offer.frozen;
  o.readers = offer.readers;
  o.output_extent = offer.output_extent;
  o.batch = c.batch;
  o.mode = mode;
  o.needs_input_grad = offer.frozen ? std::vector<bool>(c.inputs.size(), false) : c.needs_input_grad;
  o.batch_groups = c.batch_groups;
  for (size_t i = 0; i < c.layouts.size(); ++i) {
    Shape full{c.batch};
    full.insert(full.end(), c.inputs[i].begin(), c.inputs[i].end());
    o.input_layouts.push_back(dnnl::memory::desc(dnnl::memory::dims(full.begin(), full.end()), dnnl::memory::data_type::f32,
                                                 c.layouts[i]));
  }
  auto h = std::make_unique<NodeHarness>(testing::registry(), op, a, c.inputs, o);
  if (c.prepare) c.prepare(*h);
  return h;
}

}  // namespace

TEST_CASE("contract: every registered op has cases in the table, and every case names a registered op") {
  for (const auto& [name, info] : testing::registry().ops()) {
    CAPTURE(name);
    CHECK_MESSAGE(table().count(name) == 1, "op '" << name << "' (" << info.library << ") has no cases in "
                                            "tests/ops/test_all_ops_contract.cpp: add attributes and shapes for it");
  }
  for (const auto& [name, cases] : table()) {
    CAPTURE(name);
    CHECK(testing::registry().find(name) != nullptr);
    CHECK(!cases.empty());
  }
}

TEST_CASE("contract: backward overwrites input and parameter gradients") {
  for (const auto& [op, cases] : table()) {
    if (!testing::registry().find(op)) continue;
    for (const Case& c : cases)
      for (Mode mode : {Mode::train, Mode::eval}) {
        CAPTURE(op);
        CAPTURE(c.name);
        const std::string mode_name = mode == Mode::train ? "train" : "eval";
        CAPTURE(mode_name);
        const auto r = make(op, c, mode)->check_backward_overwrites();
        INFO(r.worst);
        CHECK(r.max_error < 1e-6);
      }
  }
}

TEST_CASE("contract: an op declaring no batch mixing permutes with the batch rows") {
  for (const auto& [op, cases] : table()) {
    const OpInfo* info = testing::registry().find(op);
    if (!info || info->batch_mixing != BatchMixing::none) continue;
    for (const Case& c : cases)
      for (Mode mode : {Mode::train, Mode::eval}) {
        if (mode == Mode::train && c.random_per_position) continue;
        CAPTURE(op);
        CAPTURE(c.name);
        const std::string mode_name = mode == Mode::train ? "train" : "eval";
        CAPTURE(mode_name);
        const auto r = make(op, c, mode)->check_batch_permutation();
        INFO(r.worst);
        CHECK((r.checked > 0 || c.inputs.empty()));
        CHECK(r.max_error < 1e-5);
      }
  }
}

TEST_CASE("contract: frozen, with readers offered for fusion, or with an output extent, an op computes the same") {
  const std::vector<std::pair<std::string, Attributes>> relu{{"activation", attrs("relu", {{"function", "relu"}})}},
      sigmoid{{"activation", attrs("sigmoid", {{"function", "sigmoid"}})}},
      chain{{"batch_norm", attrs("norm", {})}, {"activation", attrs("relu", {{"function", "relu"}})},
            {"max_pool2d", attrs("pool", {})}};
  size_t absorbed = 0, partial = 0;
  for (const auto& [op, cases] : table()) {
    if (!testing::registry().find(op)) continue;
    for (const Case& c : cases) {
      CAPTURE(op);
      CAPTURE(c.name);
      const Shape out = resolve_batch(make(op, c, Mode::eval)->output_shape(), c.batch);
      std::vector<std::pair<std::string, Offer>> offers{{"frozen", {true}},
                                                        {"frozen, relu after it", {true, relu}},
                                                        {"trainable, sigmoid after it", {false, sigmoid}}};
      const bool image = out.size() == 3 && out[1] >= 2 && out[2] >= 2;
      if (image) {
        offers.push_back({"frozen, batch_norm, relu and pool after it", {true, chain}});
        offers.push_back({"frozen, all but the last row and column read", {true, {}, {out[0], out[1] - 1, out[2] - 1}}});
      }
      for (const auto& [what, offer] : offers) {
        CAPTURE(what);
        auto h = make(op, c, Mode::eval, offer);
        const auto r = h->check_against_reference();
        INFO(r.worst);
        CHECK(r.checked > 0);
        CHECK(r.max_error < 1e-4);
        absorbed += h->absorbed();
        partial += offer.output_extent.empty() ? 0 : 1;
        if (h->absorbed() > 0 && !offer.frozen) {  // the absorbed function's gradient too
          const auto g = make(op, c, Mode::eval, offer)->check_gradients(1e-3, 20);
          INFO(g.worst);
          CHECK(g.max_error < 2e-2);
        }
      }
    }
  }
  // conv2d, dense and batch_norm take readers: the offers reach the code that fuses.
  CHECK(absorbed >= 3);
  CHECK(partial >= 1);
}
