// A run whose embedding cannot move (every unit of its one dense layer dead from the start,
// so the batch-hard triplet loss sits at log 2) is told so once, through the graphrun
// command; the same graph with live units trains without the warning.
#include <doctest/doctest.h>

#include "cli_run.hpp"
#include "image_fixtures.hpp"

#include <string>

namespace {

namespace testing = graphrun::testing;

std::string graph_text(const std::string& root, const std::string& bias) {
  return R"(name: stalled_embedding
inputs:
  image: {shape: [1, 12, 12]}
  class: {shape: [1], feed: class}
towers:
  embed:
    - {op: flatten}
    - {op: dense, units: 8, activation: relu, bias_initializer: )" + bias + R"(}
nodes:
  embedding: {tower: embed, input: image}
  loss: {op: triplet_loss, soft: true, inputs: [embedding, class]}
output: embedding
loss: loss
data:
  format: images
  path: )" + root + R"(
  pairs: {strategy: class_balanced, classes: 2, images_per_class: 3}
  train: {classes: {range: [0, 4]}}
  test: {classes: {range: [4, 6]}}
evaluation:
  embedding: embedding
  distance: sqeuclidean
train:
  optimizer: {name: adam, learning_rate: 0.01}
  seed: 1
)";
}

}  // namespace

TEST_CASE("stall warning end to end: dead units are warned about once; live ones are not") {
  const std::string dir = testing::fresh_folder("stall_training");
  testing::write_class_tree(dir + "/tree", 6, 6, 12, 12);
  const std::string warning = "the training loss has been 0.693147 for 5 epochs in a row";
  for (const bool dead : {true, false}) {
    CAPTURE(dead);
    const std::string graph = dir + (dead ? "/dead.yaml" : "/live.yaml");
    testing::write_text(graph, graph_text(dir + "/tree", dead ? "constant(-100)" : "zeros"));
    const auto t = testing::run_cli("train " + graph + " --epochs 8 --quiet --threads 1 --out " + dir + (dead ? "/dead" : "/live"));
    CAPTURE(t.output);
    REQUIRE(t.code == 0);
    const size_t at = t.output.find(warning);
    if (dead) {
      REQUIRE(at != std::string::npos);
      CHECK(t.output.find("graphrun: warning: epoch 5:") != std::string::npos);
      CHECK(t.output.find(warning, at + 1) == std::string::npos);  // once
    } else {
      CHECK(at == std::string::npos);
    }
  }
}
