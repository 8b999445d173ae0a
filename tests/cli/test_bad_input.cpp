// Bad input reaching the command line: each case is one message naming the file (and line
// and column, or path), what was expected and what was found, and exit code 1.
#include <doctest/doctest.h>

#include "../data/idx_files.hpp"
#include "cli_run.hpp"

#include <algorithm>
#include <filesystem>
#include <string>

namespace {

using graphrun::testing::run_cli;
using graphrun::testing::write_temp;
namespace fs = std::filesystem;

// 40 training and 20 test images of 28 x 28, classes 0-9 in turn: enough for one quick epoch.
const std::string& tiny_data() {
  static graphrun::testing::TempDir* dir = [] {
    auto* d = new graphrun::testing::TempDir();  // kept for the whole test binary
    for (auto [prefix, n] : {std::pair<const char*, uint32_t>{"train", 40}, {"t10k", 20}}) {
      std::vector<unsigned char> pixels(size_t(n) * 784), labels(n);
      for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<unsigned char>((i * 7919) % 251);
      for (uint32_t i = 0; i < n; ++i) labels[i] = static_cast<unsigned char>(i % 10);
      graphrun::testing::write_raw(d->file(std::string(prefix) + "-images-idx3-ubyte"), graphrun::testing::idx_images(n, 28, 28, pixels));
      graphrun::testing::write_raw(d->file(std::string(prefix) + "-labels-idx1-ubyte"), graphrun::testing::idx_labels(n, labels));
    }
    return d;
  }();
  static const std::string path = dir->str();
  return path;
}

const char* kGraph = R"(name: bad_input
inputs:
  left:  {shape: [784]}
  right: {shape: [784]}
  same:  {shape: [1], feed: label}
nodes:
  d:    {op: l1_distance, inputs: [left, right]}
  p:    {op: dense, units: 1, activation: sigmoid, input: d}
  loss: {op: binary_crossentropy, inputs: [p, same]}
output: p
loss: loss
data:
  path: DATA
  pairs: {strategy: balanced}
  train: {split: train}
  test: {split: test}
train: {optimizer: {name: adam, learning_rate: 0.01}, batch_size: 8, epochs: 1}
)";

struct Graph {
  std::string path, text;
  // "path:line:col" of the first occurrence of `what` in the file, as messages give it.
  std::string at(const std::string& what) const {
    const size_t pos = text.find(what);
    REQUIRE(pos != std::string::npos);
    const size_t line_start = text.rfind('\n', pos) + 1;  // npos + 1 == 0 on the first line
    const long line = std::count(text.begin(), text.begin() + long(pos), '\n') + 1;
    return path + ":" + std::to_string(line) + ":" + std::to_string(pos - line_start + 1);
  }
};

// kGraph with `from` replaced by `to` (the first occurrence), written as graphrun_cli_<name>.
Graph graph(const std::string& name, const std::string& from = "", const std::string& to = "") {
  std::string text = kGraph;
  text.replace(text.find("DATA"), 4, tiny_data());
  if (!from.empty()) {
    REQUIRE(text.find(from) != std::string::npos);
    text.replace(text.find(from), from.size(), to);
  }
  return {write_temp(name, text), text};
}

std::string out_dir(const std::string& name) { return (fs::temp_directory_path() / ("graphrun_cli_out_" + name)).string(); }

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// One message: the error line, nothing else printed.
void check_error(const graphrun::testing::CliResult& r, const std::string& part) {
  CAPTURE(r.output);
  CHECK(r.code == 1);
  CHECK(r.output.rfind("graphrun: error: ", 0) == 0);
  CHECK(has(r.output, part));
  CHECK(!has(r.output, "unexpected error"));
}

}  // namespace

TEST_CASE("bad input: the tiny graph itself trains and evaluates") {  // so the cases below fail for their own reason
  const Graph g = graph("ok.yaml");
  auto r = run_cli("train " + g.path + " --quiet --threads 0 --out " + out_dir("ok"));
  CAPTURE(r.output);
  CHECK(r.code == 0);
  CHECK(fs::exists(out_dir("ok") + "/history.csv"));
}

TEST_CASE("bad input: a duplicate key in any map names both positions") {
  struct Case {
    const char* from;
    const char* to;
    const char* first;
    const char* second;
  };
  for (const Case& c : {Case{"units: 1,", "units: 1, units: 32,", "units: 1", "units: 32"},
                        Case{"{op: dense,", "{op: dense, op: subtract,", "op: dense", "op: subtract"},
                        Case{"loss: loss\n", "loss: loss\nname: again\n", "name: bad_input", "name: again"},
                        Case{"  pairs:", "  path: /elsewhere\n  pairs:", "path: /", "path: /elsewhere"},
                        Case{"epochs: 1}", "epochs: 1, batch_size: 4}", "batch_size: 8", "batch_size: 4"}}) {
    const Graph g = graph("dup.yaml", c.from, c.to);
    auto r = run_cli("summary " + g.path);
    check_error(r, g.at(c.second) + ": duplicate key '");
    CHECK(has(r.output, "(first given at " + g.at(c.first) + ")"));
  }
}

TEST_CASE("bad input: --weights given a folder is refused by name") {
  const Graph g = graph("weights_folder.yaml");
  auto r = run_cli("eval " + g.path + " --weights " + fs::temp_directory_path().string() + " --out " + out_dir("wf"));
  check_error(r, fs::temp_directory_path().string() + ": is a folder; expected a checkpoint file");
}

TEST_CASE("bad input: a checkpoint of another graph needs --weights-from-other-graph") {
  const Graph a = graph("graph_a.yaml");
  REQUIRE(run_cli("train " + a.path + " --quiet --out " + out_dir("a")).code == 0);
  const Graph b = graph("graph_b.yaml", "name: bad_input", "name: other_graph");
  const std::string weights = out_dir("a") + "/weights.safetensors";
  auto r = run_cli("eval " + b.path + " --weights " + weights + " --out " + out_dir("b"));
  check_error(r, weights + ": the checkpoint was written by graph 'bad_input', not by this graph 'other_graph'");
  CHECK(has(r.output, "--weights-from-other-graph"));
  auto ok = run_cli("eval " + b.path + " --weights " + weights + " --weights-from-other-graph --out " + out_dir("b"));
  CAPTURE(ok.output);
  CHECK(ok.code == 0);
  CHECK(run_cli("train " + b.path + " --weights " + weights + " --quiet --out " + out_dir("b")).code == 1);
  CHECK(run_cli("train " + b.path + " --weights " + weights + " --weights-from-other-graph --quiet --out " + out_dir("b")).code == 0);
}

TEST_CASE("bad input: --threads and train.threads outside 1..4 x cores") {
  const Graph g = graph("threads.yaml");
  for (const char* n : {"100000", "5000", "-3"}) {
    auto r = run_cli("train " + g.path + " --quiet --threads " + n + " --out " + out_dir("threads"));
    check_error(r, std::string("--threads ") + n + " is outside the allowed range 1..");
  }
  const Graph y = graph("threads_yaml.yaml", "epochs: 1}", "epochs: 1, threads: 100000}");
  auto r = run_cli("summary " + y.path);
  check_error(r, y.at("100000}") + ": train.threads 100000 is outside the allowed range 1..");
}

TEST_CASE("bad input: a run folder that cannot be made or written fails before training") {
  const Graph g = graph("out.yaml");
  const std::string file = write_temp("out_is_a_file", "x");
  check_error(run_cli("train " + g.path + " --quiet --out " + file), file + ": the run folder (--out) is an existing file");
  check_error(run_cli("train " + g.path + " --quiet --out /proc/x"), "/proc/x: cannot create the run folder (--out)");
  check_error(run_cli("eval " + g.path + " --out /proc/x"), "/proc/x: cannot create the run folder (--out)");
  // A folder nobody may write in, even root: reported before the first step, not after training.
  check_error(run_cli("train " + g.path + " --quiet --out /proc/self"), "/proc/self: the run folder (--out) is not writable");
}

TEST_CASE("bad input: a failed write of history.csv is reported") {
  const Graph g = graph("history.yaml");
  const std::string dir = out_dir("full");
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::create_symlink("/dev/full", dir + "/history.csv");  // every write fails: no space left
  check_error(run_cli("train " + g.path + " --quiet --out " + dir), dir + "/history.csv: writing the training history failed");
}

TEST_CASE("bad input: a Siamese graph without a pair strategy names the strategies") {
  for (const char* pairs : {"", "  pairs: {strategy: none}\n"}) {
    const Graph g = graph("nopairs.yaml", "  pairs: {strategy: balanced}\n", pairs);
    auto r = run_cli("eval " + g.path + " --out " + out_dir("nopairs"));
    check_error(r, g.at("path:") + ": the graph reads pairs (inputs fed from 'left' and 'right') but data has no pair strategy");
    CHECK(has(r.output, "consecutive | balanced | class_weighted"));
  }
}

TEST_CASE("bad input: optimizer settings out of range name file, line and column") {
  for (const char* bad : {"learning_rate: -1", "learning_rate: 0", "learning_rate: .nan", "rho: 1.5", "momentum: -1",
                          "beta_1: 1", "beta_2: 1.5", "epsilon: 0", "epsilon: -1e-7"}) {
    const std::string setting = bad;
    const std::string name = setting.rfind("rho", 0) == 0 || setting.rfind("momentum", 0) == 0 ? "rmsprop" : "adam";
    const Graph g = graph("optimizer.yaml", "{name: adam, learning_rate: 0.01}", "{name: " + name + ", " + setting + "}");
    const std::string key = setting.substr(0, setting.find(':'));
    auto r = run_cli("summary " + g.path);
    check_error(r, g.at(setting.substr(key.size() + 2) + "}") + ": train.optimizer: optimizer " + name + ": " + key + " must be ");
  }
}

TEST_CASE("bad input: an unknown optimizer or setting names file, line and column") {
  const Graph g = graph("optimizer_name.yaml", "{name: adam,", "{name: adamw,");
  check_error(run_cli("summary " + g.path), g.at("adamw") + ": train.optimizer: unknown optimizer 'adamw' (known: adam, rmsprop, sgd)");
  const Graph k = graph("optimizer_key.yaml", "learning_rate: 0.01}", "learning_rate: 0.01, rho: 0.9}");
  check_error(run_cli("summary " + k.path), k.at("0.9}") + ": train.optimizer: optimizer adam: unknown setting 'rho'");
}

TEST_CASE("bad input: a graph file over 1 MB is refused before parsing") {
  std::string big = "name: big\nlist: [";
  while (big.size() < 2u << 20) big += "1, ";
  const std::string path = write_temp("big.yaml", big + "1]\n");
  check_error(run_cli("summary " + path), path + ": the graph file is " + std::to_string(big.size() + 3) + " bytes");
  check_error(run_cli("summary " + path), "over the limit of 1048576 bytes");
}

TEST_CASE("bad input: parameters larger than the machine's memory name the largest") {
  const Graph g = graph("huge.yaml", "input: d}", "input: h}\n  h:    {op: dense, units: 100000000000, input: d}");
  auto r = run_cli("summary " + g.path);
  check_error(r, g.at("{op: dense, units: 1000") + ": node 'h' (dense): the parameters need ");
  CHECK(has(r.output, "GB of memory of this machine; the largest is 'h/kernel' [100000000000, 784]"));
}
