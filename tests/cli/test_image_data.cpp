// Image data end to end through the graphrun command: a tiny tree written here, trained,
// reported (verification, ROC, one-shot tasks) and scored again with the written weights;
// bad image data is one message and exit 1.
#include <doctest/doctest.h>

#include "cli_run.hpp"
#include "image_fixtures.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>

namespace {

namespace fs = std::filesystem;
namespace testing = graphrun::testing;

using Result = testing::CliResult;

Result run(const std::string& args) { return testing::run_cli(args); }

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

const char* kGraph = R"(name: tiny_images
inputs:
  left:  {shape: [1, 12, 12]}
  right: {shape: [1, 12, 12]}
  same:  {shape: [1], feed: label}
towers:
  enc:
    - {op: flatten}
    - {op: dense, units: 8}
nodes:
  a:    {tower: enc, input: left}
  b:    {tower: enc, input: right}
  dist: {op: euclidean_distance, inputs: [a, b]}
  loss: {op: contrastive_loss, margin: 1.0, same_label: 1, prediction: distance, inputs: [dist, same]}
output: dist
loss: loss
data:
DATA
evaluation:
  score: distance
  verify: all
  tasks: {ways: 3, shots: 1, queries: 1, count: 10}
train:
TRAIN
)";

const char* kImageData = R"(  format: images
  path: ROOT
  pairs: {strategy: balanced}
  train: {classes: {range: [0, 3]}}
  test: {classes: {range: [3, 6]}})";

const char* kTrain = "  {batch_size: 8, epochs: 1, seed: 3}";

std::string replaced(std::string text, const std::string& key, const std::string& value) {
  const size_t at = text.find(key);
  REQUIRE(at != std::string::npos);
  return text.replace(at, key.size(), value);
}

// Writes the graph with its data block (ROOT replaced by `root`) into `dir`.
std::string graph_in(const std::string& dir, const std::string& root, const std::string& data = kImageData,
                     const std::string& train = kTrain) {
  const std::string path = dir + "/g.yaml";
  testing::write_text(path, replaced(replaced(replaced(kGraph, "DATA", data), "TRAIN", train), "ROOT", root));
  return path;
}

// 6 classes x 4 images of 12x12, each class a distinct pattern.
std::string tree_in(const std::string& dir) {
  testing::write_class_tree(dir + "/tree", 6, 4, 12, 12);
  return dir + "/tree";
}

// A failing command: exit 1 and a single line "graphrun: error: ..." holding `expected`.
void check_one_error(const Result& r, const std::string& expected) {
  CAPTURE(r.output);
  CHECK(r.code == 1);
  CHECK(r.output.rfind("graphrun: error: ", 0) == 0);
  CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
  CHECK(r.output.find(expected) != std::string::npos);
}

}  // namespace

TEST_CASE("cli images: train writes the run folder; eval with its weights reports AUC") {
  const std::string dir = testing::fresh_folder("cli_images");
  const std::string graph = graph_in(dir, tree_in(dir), kImageData, "  {batch_size: 8, epochs: 5, seed: 3}");
  const std::string out = dir + "/run";
  const Result t = run("train " + graph + " --epochs 2 --quiet --threads 1 --out " + out);
  CAPTURE(t.output);
  REQUIRE(t.code == 0);
  for (const char* f : {"history.csv", "last.safetensors", "weights.safetensors", "roc.csv", "test.json"})
    CHECK_MESSAGE(fs::exists(out + "/" + f), f);
  std::ifstream history(out + "/history.csv");
  int lines = 0;
  for (std::string line; std::getline(history, line);) ++lines;
  CHECK(lines == 3);  // header + the 2 epochs --epochs asked for (not the graph's 5)
  std::ifstream roc(out + "/roc.csv");
  std::string header;
  std::getline(roc, header);
  CHECK(header == "threshold,fpr,tpr");
  const std::string json = read(out + "/test.json");
  CAPTURE(json);
  for (const char* key : {"\"auc\": ", "\"eer\": ", "\"tasks_accuracy\": ", "\"tasks_ways\": 3", "\"same_pairs\": 18"})
    CHECK_MESSAGE(json.find(key) != std::string::npos, key);  // verify all: 3 classes x C(4, 2) same pairs
  CHECK(t.output.find("AUC") != std::string::npos);
  CHECK(t.output.find("3-way 1-shot accuracy") != std::string::npos);

  const Result e = run("eval " + graph + " --weights " + out + "/weights.safetensors --threads 1 --out " + dir + "/eval");
  CAPTURE(e.output);
  REQUIRE(e.code == 0);
  CHECK(e.output.find("AUC") != std::string::npos);
  // The same weights, the same figures.
  const std::string figures = t.output.substr(t.output.find("test: "));
  CHECK(e.output.find(figures) != std::string::npos);
}

TEST_CASE("cli images: early stopping on a held-out validation split writes best.safetensors") {
  const std::string dir = testing::fresh_folder("cli_images_early");
  const std::string data = std::string(kImageData) + "\n  validation: {holdout: 0.25}";
  const std::string graph =
      graph_in(dir, tree_in(dir), data, "  {batch_size: 8, epochs: 2, early_stopping: {monitor: val_loss, patience: 0}}");
  const Result t = run("train " + graph + " --quiet --threads 1 --out " + dir + "/run");
  CAPTURE(t.output);
  REQUIRE(t.code == 0);
  CHECK(fs::exists(dir + "/run/best.safetensors"));
  CHECK(fs::exists(dir + "/run/weights.safetensors"));
  CHECK(read(dir + "/run/history.csv").find("val_loss") != std::string::npos);
}

TEST_CASE("cli images: bad image data is one message and exit 1") {
  const std::string dir = testing::fresh_folder("cli_images_bad");
  const std::string args = " --quiet --threads 1 --out " + dir + "/run";
  SUBCASE("the data root is missing") {
    check_one_error(run("train " + graph_in(dir, dir + "/nowhere") + args), dir + "/nowhere: no such folder");
  }
  SUBCASE("an empty class folder") {
    const std::string root = tree_in(dir);
    fs::create_directories(root + "/c9");
    check_one_error(run("train " + graph_in(dir, root) + args), root + "/c9: empty class folder");
  }
  SUBCASE("a class with one image under strategy balanced") {
    const std::string root = tree_in(dir);
    testing::write_image(root + "/c0a/only.png", testing::pattern(12, 12, 9));  // sorts between c0 and c1: a training class
    check_one_error(run("train " + graph_in(dir, root) + args), "class 'c0a' has one image");
  }
  SUBCASE("a corrupt image file") {
    const std::string root = tree_in(dir);
    testing::write_garbage(root + "/c2/c2_9.png");
    check_one_error(run("train " + graph_in(dir, root) + args), root + "/c2/c2_9.png: ");
  }
  SUBCASE("a pair-file line naming a missing image") {
    const std::string root = dir + "/people";
    testing::write_person(root, "Ann", 2, 12, 12, 1);
    testing::write_person(root, "Ben", 2, 12, 12, 2);
    testing::write_text(dir + "/pairs.txt", "1\nAnn 1 2\nAnn 1 Ben 3\n");
    const std::string data = "  format: pair_file\n  path: ROOT\n  train: {file: " + dir + "/pairs.txt}";
    check_one_error(run("train " + graph_in(dir, root, data) + args), dir + "/pairs.txt:3: names " + root + "/Ben/Ben_0003.jpg");
  }
}

// The official runs' layout made from the tree's test classes c3-c5: image 0 of each is a
// run's training image, image 1 its query.
std::string oneshot_runs_in(const std::string& dir, const std::string& tree) {
  const std::string runs = dir + "/runs";
  std::string labels;
  for (int k = 1; k <= 3; ++k) {
    const std::string c = "c" + std::to_string(k + 2), item = std::to_string(k) + ".png";
    fs::create_directories(runs + "/run01/training");
    fs::create_directories(runs + "/run01/test");
    fs::copy_file(tree + "/" + c + "/" + c + "_0.png", runs + "/run01/training/class0" + item);
    fs::copy_file(tree + "/" + c + "/" + c + "_1.png", runs + "/run01/test/item0" + item);
    labels += "run01/test/item0" + item + " run01/training/class0" + item + "\n";
  }
  testing::write_text(runs + "/run01/class_labels.txt", labels);
  return runs;
}

TEST_CASE("cli images: oneshot_runs_each_epoch records the runs' accuracy after every epoch") {
  const std::string dir = testing::fresh_folder("cli_images_runs_curve");
  const std::string tree = tree_in(dir);
  std::string graph = graph_in(dir, tree);
  testing::write_text(graph, replaced(read(graph), "  verify: all\n",
                                      "  verify: all\n  oneshot_runs: " + oneshot_runs_in(dir, tree) +
                                          "\n  oneshot_runs_each_epoch: true\n"));
  const Result t = run("train " + graph + " --epochs 2 --threads 1 --out " + dir + "/run");
  CAPTURE(t.output);
  REQUIRE(t.code == 0);
  CHECK(t.output.find("Epoch 2/2") != std::string::npos);
  CHECK(t.output.find(" - test_oneshot_runs: ") != std::string::npos);
  std::ifstream history(dir + "/run/history.csv");
  std::string header, row;
  std::getline(history, header);
  REQUIRE(header.find("test_oneshot_runs") != std::string::npos);
  int rows = 0;
  while (std::getline(history, row)) ++rows;
  CHECK(rows == 2);

  // Without the runs there is nothing to score each epoch.
  testing::write_text(graph, replaced(read(graph), "  oneshot_runs: ", "  #"));
  check_one_error(run("train " + graph + " --epochs 1 --quiet --threads 1 --out " + dir + "/run2"),
                  "'oneshot_runs_each_epoch' needs 'oneshot_runs'");
}
