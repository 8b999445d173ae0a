// graphrun sweep: key-path overrides of the graph's YAML, and the grid run end to end.
#include <doctest/doctest.h>
#include <graphrun/error.hpp>

#include "graph/overrides.hpp"
#include "mnist.hpp"

#include <yaml-cpp/yaml.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <sys/wait.h>

namespace fs = std::filesystem;
using graphrun::Override;

namespace {

const char* kSmall = R"(name: t
towers:
  encoder:
    - {op: dense, units: 8}
    - {op: dropout, rate: 0.1}
nodes:
  drop: {op: dropout, rate: 0.5, input: x}
  loss: {op: binary_crossentropy, inputs: [drop, x]}
train:
  optimizer: {name: rmsprop, learning_rate: 0.001}
  epochs: 5
)";

YAML::Node apply(const std::vector<Override>& o) { return YAML::Load(graphrun::apply_overrides(kSmall, o, "g.yaml")); }

std::string error_of(const std::vector<Override>& o) {
  try {
    graphrun::apply_overrides(kSmall, o, "g.yaml");
  } catch (const graphrun::Error& e) {
    return e.what();
  }
  return "(no error)";
}

struct Result {
  int code;
  std::string output;
};

// Runs the CLI from `cwd`, so relative paths are looked for where the test puts them.
Result run(const std::string& cwd, const std::string& args) {
  const std::string cmd = "cd '" + cwd + "' && " + std::string(GRAPHRUN_CLI) + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), pipe)) out.append(buf.data(), n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::vector<std::vector<std::string>> read_csv(const fs::path& file) {  // the sweep's CSV: no quoted commas in these tests
  std::vector<std::vector<std::string>> rows;
  std::ifstream f(file);
  for (std::string line; std::getline(f, line);) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
    if (!line.empty() && line.back() == ',') cells.push_back("");
    rows.push_back(cells);
  }
  return rows;
}

size_t lines_of(const fs::path& file) {
  std::ifstream f(file);
  size_t n = 0;
  for (std::string line; std::getline(f, line);) ++n;
  return n;
}

// A small Siamese MLP like tests/graphs/mnist_small.yaml, with few steps per epoch. Its
// data.path is relative to the graph's folder only: the sweep must anchor it.
const char* kGraph = R"(name: sweep_e2e
inputs:
  left:  {shape: [784]}
  right: {shape: [784]}
  same:  {shape: [1], feed: label}
towers:
  encoder:
    - {op: dense, units: 16, activation: relu}
    - {op: dropout, rate: 0.1}
nodes:
  a:    {tower: encoder, input: left}
  b:    {tower: encoder, input: right}
  dist: {op: l1_distance, inputs: [a, b]}
  p:    {op: dense, units: 1, activation: sigmoid, input: dist}
  loss: {op: binary_crossentropy, inputs: [p, same]}
output: p
loss: loss
data:
  path: mnist
  pairs: {strategy: balanced, same_label: 1}
  train: {split: train, range: [0, 1000]}
  validation: {split: train, range: [1000, 1400]}
train:
  optimizer: {name: adam, learning_rate: 0.001}
  batch_size: 32
  epochs: 3
  steps_per_epoch: 8
  seed: 0
)";

// <tmp>/graphrun_sweep_<name>/{graphs/g.yaml, graphs/mnist -> data/mnist, cwd/}
struct Setup {
  fs::path root, graph, cwd;
  explicit Setup(const std::string& name, const std::string& text = kGraph) {
    root = fs::temp_directory_path() / ("graphrun_sweep_" + name);
    fs::remove_all(root);
    fs::create_directories(root / "graphs");
    fs::create_directories(root / "cwd");
    fs::create_directory_symlink(fs::path(GRAPHRUN_SOURCE_DIR) / "data/mnist", root / "graphs/mnist");
    graph = root / "graphs/g.yaml";
    cwd = root / "cwd";
    std::ofstream(graph) << text;
  }
};

}  // namespace

TEST_CASE("sweep overrides: a map key, a list index and a new leaf in an existing map") {
  YAML::Node g = apply({{"train.epochs", "10"}, {"towers.encoder.1.rate", "0.4"}, {"train.optimizer.rho", "0.8"}});
  CHECK(g["train"]["epochs"].as<int>() == 10);
  CHECK(g["towers"]["encoder"][1]["rate"].as<double>() == 0.4);
  CHECK(g["towers"]["encoder"][0]["units"].as<int>() == 8);  // neighbours untouched
  CHECK(g["nodes"]["drop"]["rate"].as<double>() == 0.5);
  CHECK(g["train"]["optimizer"]["rho"].as<double>() == 0.8);
  CHECK(g["train"]["optimizer"]["learning_rate"].as<double>() == 0.001);
  CHECK(g["name"].as<std::string>() == "t");
  // A value is one scalar, even one that would read as YAML structure.
  CHECK(apply({{"name", "a: [b]"}})["name"].as<std::string>() == "a: [b]");
}

TEST_CASE("sweep overrides: a missing key names the key, the part and the keys there") {
  std::string msg = error_of({{"nodes.dropp.rate", "0.3"}});
  CAPTURE(msg);
  CHECK(msg.find("g.yaml: key 'nodes.dropp.rate': 'dropp' not found in 'nodes' (keys there: drop, loss)") == 0);
  msg = error_of({{"trian.epochs", "1"}});
  CHECK(msg.find("'trian' not found in the top level (keys there: name, towers, nodes, train)") != std::string::npos);
  // Only the last part may be new: train has no schedule map to add a name to.
  msg = error_of({{"train.schedule.name", "cosine"}});
  CHECK(msg.find("'schedule' not found in 'train' (keys there: optimizer, epochs)") != std::string::npos);
  msg = error_of({{"towers.encoder.2.rate", "0.3"}});
  CHECK(msg.find("'2' not found in 'towers.encoder' (a list of 2 items, 0..1)") != std::string::npos);
  msg = error_of({{"towers.encoder.first.rate", "0.3"}});
  CHECK(msg.find("'towers.encoder' is a list: 'first' must be an item index") != std::string::npos);
  msg = error_of({{"train.epochs.max", "3"}});
  CHECK(msg.find("'train.epochs' is a single value (5), not a map or list") != std::string::npos);
  msg = error_of({{"train.optimizer", "adam"}});
  CHECK(msg.find("it names a map; a sweep sets single values (name a key inside it, e.g. train.optimizer.name)") != std::string::npos);
  CHECK(error_of({{"train..epochs", "3"}}).find("has an empty part") != std::string::npos);
}

TEST_CASE("sweep overrides: relative data, one-shot runs and weights paths found beside the graph become absolute") {
  const fs::path dir = fs::temp_directory_path() / "graphrun_sweep_anchor", cwd = dir / "cwd";
  fs::remove_all(dir);
  fs::create_directories(dir / "graphs/imgs");
  fs::create_directories(dir / "graphs/runs");
  fs::create_directories(cwd);
  std::ofstream(dir / "graphs/w.safetensors") << "x";
  std::ofstream(cwd / "here.safetensors") << "x";
  const std::string text = R"(name: t
towers:
  enc: {weights: w.safetensors, layers: [{op: dense, units: 2, weights: w.safetensors}]}
nodes:
  a: {op: dense, units: 1, weights: here.safetensors}
  b: {op: dense, units: 1, weights: missing.safetensors}
  c: {op: dense, units: 1, weights: /abs/w.safetensors}
data: {path: [imgs, here.safetensors], train: {split: train}}
evaluation: {oneshot_runs: runs}
)";
  const fs::path before = fs::current_path();
  fs::current_path(cwd);
  YAML::Node g;
  try {
    g = YAML::Load(graphrun::anchor_paths(text, (dir / "graphs").string(), "t.yaml"));
  } catch (...) {
    fs::current_path(before);
    throw;
  }
  fs::current_path(before);
  const std::string w = (dir / "graphs/w.safetensors").string();
  CHECK(g["towers"]["enc"]["weights"].as<std::string>() == w);
  CHECK(g["towers"]["enc"]["layers"][0]["weights"].as<std::string>() == w);
  CHECK(g["nodes"]["a"]["weights"].as<std::string>() == "here.safetensors");  // found from the working directory
  CHECK(g["nodes"]["b"]["weights"].as<std::string>() == "missing.safetensors");
  CHECK(g["nodes"]["c"]["weights"].as<std::string>() == "/abs/w.safetensors");
  CHECK(g["data"]["path"][0].as<std::string>() == (dir / "graphs/imgs").string());
  CHECK(g["data"]["path"][1].as<std::string>() == "here.safetensors");
  CHECK(g["evaluation"]["oneshot_runs"].as<std::string>() == (dir / "graphs/runs").string());
}

TEST_CASE("sweep cli: a 2x2 grid trains four run folders and sorts results by val_loss") {
  REQUIRE_MESSAGE(graphrun::testing::have_mnist(), "data/mnist missing: run tools/setup.sh");
  Setup s("e2e");
  Result r = run(s.cwd.string(), "sweep " + s.graph.string() +
                                     " --grid train.epochs=1,2 --grid train.optimizer.learning_rate=0.01,0.001 --threads 1 --quiet");
  CAPTURE(r.output);
  REQUIRE(r.code == 0);
  CHECK(r.output.find("sweep 1/4: train.epochs=1 train.optimizer.learning_rate=0.01\n") != std::string::npos);
  CHECK(r.output.find("sweep 4/4: train.epochs=2 train.optimizer.learning_rate=0.001\n") != std::string::npos);
  CHECK(r.output.find("| run | train.epochs | train.optimizer.learning_rate | val_loss |") != std::string::npos);

  const fs::path out = s.cwd / "runs/sweep_e2e_sweep";  // the default folder, under the working directory
  std::set<std::string> folders;
  for (const auto& e : fs::directory_iterator(out))
    if (e.is_directory()) folders.insert(e.path().filename().string());
  CHECK(folders == std::set<std::string>{"1_epochs=1_learning_rate=0.01", "2_epochs=1_learning_rate=0.001",
                                         "3_epochs=2_learning_rate=0.01", "4_epochs=2_learning_rate=0.001"});

  const auto rows = read_csv(out / "results.csv");
  REQUIRE(rows.size() == 5);
  CHECK(rows[0] == std::vector<std::string>{"run", "train.epochs", "train.optimizer.learning_rate", "val_loss", "val_accuracy", "loss",
                                            "accuracy", "best_val_loss", "best_val_accuracy", "best_epoch", "seconds", "status"});
  std::set<std::string> points;
  for (size_t i = 1; i < rows.size(); ++i) {
    const auto& row = rows[i];
    REQUIRE(row.size() == rows[0].size());
    CAPTURE(row[0]);
    CHECK(row[11] == "ok");
    points.insert(row[1] + "/" + row[2]);
    if (i > 1) CHECK(std::stod(rows[i - 1][3]) <= std::stod(row[3]));  // ascending val_loss
    CHECK(std::stod(row[7]) <= std::stod(row[3]));                     // the best is no worse than the last
    CHECK(std::stoi(row[9]) >= 1);
    CHECK(std::stoi(row[9]) <= std::stoi(row[1]));
    // Each folder trained its own graph: the grid's values are in it, and data.path was anchored.
    const fs::path dir = out / row[0];
    YAML::Node g = YAML::LoadFile((dir / "graph.yaml").string());
    CHECK(g["train"]["epochs"].as<std::string>() == row[1]);
    CHECK(g["train"]["optimizer"]["learning_rate"].as<std::string>() == row[2]);
    CHECK(g["train"]["optimizer"]["name"].as<std::string>() == "adam");
    CHECK(g["data"]["path"].as<std::string>() == (s.root / "graphs/mnist").string());
    CHECK(lines_of(dir / "history.csv") == 1 + std::stoul(row[1]));
    CHECK(fs::exists(dir / "weights.safetensors"));
  }
  CHECK(points == std::set<std::string>{"1/0.01", "1/0.001", "2/0.01", "2/0.001"});
  CHECK(lines_of(out / "results.md") == 6);
}

TEST_CASE("sweep cli: a failing point is recorded and the sweep goes on") {
  REQUIRE_MESSAGE(graphrun::testing::have_mnist(), "data/mnist missing: run tools/setup.sh");
  Setup s("failing");
  const fs::path out = s.root / "out";
  Result r = run(s.cwd.string(), "sweep " + s.graph.string() + " --grid train.batch_size=0,16 --grid train.epochs=1 --threads 1 --quiet --out " +
                                     out.string() + " --sort val_accuracy");
  CAPTURE(r.output);
  CHECK(r.code == 0);  // one point trained
  CHECK(r.output.find("sweep 1/2: failed: ") != std::string::npos);
  CHECK(r.output.find("batch_size must be positive") != std::string::npos);
  CHECK(r.output.find("sweep 2/2: done in") != std::string::npos);
  const auto rows = read_csv(out / "results.csv");
  REQUIRE(rows.size() == 3);
  CHECK(rows[1][0] == "2_batch_size=16_epochs=1");  // trained points first
  CHECK(rows[1].back() == "ok");
  CHECK(rows[2][0] == "1_batch_size=0_epochs=1");
  CHECK(rows[2].back().find("failed: ") == 0);
  CHECK(rows[2][3].empty());

  // Every point failing is a failed sweep.
  r = run(s.cwd.string(), "sweep " + s.graph.string() + " --grid train.batch_size=0,-1 --quiet --out " + out.string());
  CHECK(r.code == 1);
}

TEST_CASE("sweep cli: bad keys and malformed --grid fail before training, with exit codes") {
  Setup s("errors");
  const std::string g = "sweep " + s.graph.string() + " --quiet --out " + (s.root / "out").string();
  Result r = run(s.cwd.string(), g + " --grid train.epochs=1 --grid nodes.dropp.rate=0.3");
  CAPTURE(r.output);
  CHECK(r.code == 1);
  CHECK(r.output.find("graphrun: error: " + s.graph.string() + ": key 'nodes.dropp.rate': 'dropp' not found in 'nodes' (keys there: a, b, dist, p, loss)") == 0);
  CHECK(!fs::exists(s.root / "out"));  // nothing was trained or written

  struct Case {
    const char* grid;
    const char* message;
  };
  for (const Case& c : {Case{"train.epochs", "--grid 'train.epochs': expected KEY=V1,V2,..."},
                        Case{"=1,2", "--grid '=1,2': expected KEY=V1,V2,..."},
                        Case{"train.epochs=", "--grid 'train.epochs=': the value list of 'train.epochs' is empty"},
                        Case{"train.epochs=1,,2", "an empty value in the list"},
                        Case{"train.epochs=1,2,", "an empty value in the list"},
                        Case{"train.epochs=1,1", "the value '1' is given twice"}}) {
    r = run(s.cwd.string(), g + " --grid '" + c.grid + "'");
    CAPTURE(c.grid);
    CAPTURE(r.output);
    CHECK(r.code == 1);
    CHECK(r.output.find(c.message) != std::string::npos);
  }
  r = run(s.cwd.string(), g + " --grid train.epochs=1 --grid train.epochs=2");
  CHECK(r.code == 1);
  CHECK(r.output.find("the key 'train.epochs' is given twice") != std::string::npos);

  // CLI11's usage errors keep their own exit codes.
  r = run(s.cwd.string(), g);
  CHECK(r.code != 0);
  CHECK(r.code != 1);
  CHECK(r.output.find("--grid is required") != std::string::npos);
  r = run(s.cwd.string(), g + " --grid train.epochs=1 --sort speed");
  CHECK(r.code != 0);
  CHECK(r.code != 1);
  CHECK(!fs::exists(s.root / "out"));
}
