// A graph trained on two losses at once (loss_sum of a batch-hard triplet loss and a
// cosface_loss on one embedding), end to end through the graphrun command: it trains on
// class-balanced batches, its checkpoint holds cosface's class kernel, and eval with the
// written weights reports the same figures, the test loss (which reads that kernel) too.
#include <doctest/doctest.h>

#include "cli_run.hpp"
#include "image_fixtures.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace {

namespace testing = graphrun::testing;

std::string graph_text(const std::string& root) {
  return R"(name: two_objectives
inputs:
  image: {shape: [1, 12, 12]}
  class: {shape: [1], feed: class}
towers:
  embed:
    - {op: flatten}
    - {op: dense, units: 8}
nodes:
  embedding: {tower: embed, input: image}
  metric: {op: triplet_loss, soft: true, inputs: [embedding, class]}
  classifier: {op: cosface_loss, classes: 4, scale: 8, margin: 0.2, inputs: [embedding, class]}
  loss: {op: loss_sum, factors: [1, 0.5], inputs: [metric, classifier]}
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
  epochs: 3
  seed: 1
)";
}

// The first training loss and the last, from history.csv (epoch,...,loss,...).
std::pair<double, double> first_and_last_loss(const std::string& path) {
  std::ifstream in(path);
  std::string header, line;
  std::getline(in, header);
  size_t column = 0, at = 0;
  for (size_t comma; (comma = header.find(',', at)) != std::string::npos && header.substr(at, comma - at) != "loss";
       at = comma + 1)
    ++column;
  std::vector<double> losses;
  while (std::getline(in, line)) {
    std::stringstream cells(line);
    std::string cell;
    for (size_t k = 0; k <= column; ++k) std::getline(cells, cell, ',');
    losses.push_back(std::stod(cell));
  }
  REQUIRE(losses.size() >= 2);
  return {losses.front(), losses.back()};
}

}  // namespace

TEST_CASE("loss_sum end to end: a triplet and a cosface loss train one embedding; eval reads the checkpoint back") {
  const std::string dir = testing::fresh_folder("loss_sum_training");
  testing::write_class_tree(dir + "/tree", 6, 6, 12, 12);
  const std::string graph = dir + "/g.yaml";
  testing::write_text(graph, graph_text(dir + "/tree"));
  const std::string out = dir + "/run";
  const auto t = testing::run_cli("train " + graph + " --epochs 8 --quiet --threads 1 --out " + out);
  CAPTURE(t.output);
  REQUIRE(t.code == 0);
  const auto [first, last] = first_and_last_loss(out + "/history.csv");
  CHECK(last < first);

  std::ifstream weights(out + "/weights.safetensors", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(weights)), std::istreambuf_iterator<char>());
  CHECK(bytes.find("classifier/kernel") != std::string::npos);  // cosface's class directions are saved

  const auto e = testing::run_cli("eval " + graph + " --weights " + out + "/weights.safetensors --threads 1 --out " + dir + "/eval");
  CAPTURE(e.output);
  REQUIRE(e.code == 0);
  REQUIRE(t.output.find("test:") != std::string::npos);
  const std::string figures = t.output.substr(t.output.find("test:"));
  CHECK(e.output.find(figures) != std::string::npos);
}
