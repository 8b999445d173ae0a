// A tower can take its parameters from another graph's checkpoint and be frozen.
#include <doctest/doctest.h>
#include <graphrun/error.hpp>

#include "mnist.hpp"
#include "plugins.hpp"
#include "train/session.hpp"

#include <filesystem>
#include <fstream>

using namespace graphrun;

namespace {

std::string dir() {
  auto d = std::filesystem::temp_directory_path() / "graphrun_pretrained";
  std::filesystem::create_directories(d);
  return d.string();
}

std::string write(const std::string& name, const std::string& text) {
  std::string path = dir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

// The "classifier": two dense layers named as the matcher's tower names them.
const char* kSource = R"(name: source
inputs:
  image: {shape: [784]}
  digit: {shape: [1], feed: class}
nodes:
  hidden: {op: dense, units: 8, activation: relu, input: image}
  probs:  {op: dense, units: 10, activation: softmax, input: hidden}
  loss:   {op: categorical_crossentropy, inputs: [probs, digit]}
output: probs
loss: loss
)";

std::string matcher(const std::string& weights, int hidden_units) {
  return R"(name: matcher
inputs:
  left:  {shape: [784]}
  right: {shape: [784]}
  same:  {shape: [1], feed: label}
towers:
  classifier:
    trainable: false
    weights: )" + weights + R"(
    layers:
      - {name: hidden, op: dense, units: )" + std::to_string(hidden_units) + R"(, activation: relu}
      - {name: probs, op: dense, units: 10, activation: softmax}
nodes:
  a:    {tower: classifier, input: left}
  b:    {tower: classifier, input: right}
  both: {op: concat, inputs: [a, b]}
  p:    {op: dense, units: 1, activation: sigmoid, input: both}
  loss: {op: binary_crossentropy, inputs: [p, same]}
output: p
loss: loss
data:
  path: )" + std::string(GRAPHRUN_SOURCE_DIR) + R"(/data/mnist
  pairs: {strategy: consecutive}
  train: {split: train, range: [0, 512]}
train: {batch_size: 64, epochs: 1, optimizer: adam}
)";
}

SessionOptions quiet() {
  SessionOptions o;
  o.progress = false;
  o.out_dir = dir() + "/run";
  return o;
}

}  // namespace

TEST_CASE("pretrained towers: parameters come from the other graph's checkpoint and stay frozen") {
  Session source(write("source.yaml", kSource), testing::registry(), quiet());
  const std::string ckpt = dir() + "/source.safetensors";
  source.save_weights(ckpt);

  Session m(write("matcher.yaml", matcher(ckpt, 8)), testing::registry(), quiet());
  auto find = [&](const std::string& name) -> Parameter& {
    for (auto& p : m.model().params())
      if (p.name == name) return p;
    FAIL("no parameter " << name);
    throw 0;
  };
  Parameter& kernel = find("classifier/hidden/kernel");
  const Parameter* src = nullptr;
  for (const auto& p : source.model().params())
    if (p.name == "hidden/kernel") src = &p;
  REQUIRE(src != nullptr);
  const std::vector<float> loaded(kernel.value.data(), kernel.value.data() + kernel.value.size());
  CHECK(loaded == std::vector<float>(src->value.data(), src->value.data() + src->value.size()));
  CHECK_FALSE(kernel.trainable);
  CHECK(find("p/kernel").trainable);

  REQUIRE_MESSAGE(testing::have_mnist(), "data/mnist missing: run tools/setup.sh");
  const std::vector<float> head_before(find("p/kernel").value.data(), find("p/kernel").value.data() + 20);
  m.train();
  CHECK(std::vector<float>(kernel.value.data(), kernel.value.data() + kernel.value.size()) == loaded);  // frozen
  CHECK(std::vector<float>(find("p/kernel").value.data(), find("p/kernel").value.data() + 20) != head_before);
}

TEST_CASE("pretrained towers: a checkpoint that does not fit names the tensor and both shapes") {
  Session source(write("source2.yaml", kSource), testing::registry(), quiet());
  const std::string ckpt = dir() + "/source2.safetensors";
  source.save_weights(ckpt);
  CHECK_THROWS_WITH_AS(Session(write("wrong.yaml", matcher(ckpt, 16)), testing::registry(), quiet()),
                       doctest::Contains("tensor 'hidden/kernel' has shape [8, 784] but the graph needs [16, 784]"), Error);

  std::string renamed = matcher(ckpt, 8);
  renamed.replace(renamed.find("name: hidden"), 12, "name: encode");
  CHECK_THROWS_WITH_AS(Session(write("renamed.yaml", renamed), testing::registry(), quiet()),
                       doctest::Contains("has no tensor 'encode/kernel' ([8, 784])"), Error);
}
