// The graphrun command: one clear message and a non-zero exit on bad input.
#include <doctest/doctest.h>

#include "cli_run.hpp"
#include "mnist.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

using Result = graphrun::testing::CliResult;
Result run(const std::string& args, const std::string& env = "") { return graphrun::testing::run_cli(args, env); }
std::string write(const std::string& name, const std::string& text) { return graphrun::testing::write_temp(name, text); }
// Under the temporary folder ($TMPDIR), like every other test's files: suites run at once stay apart.
std::string out_dir(const std::string& name) { return (std::filesystem::temp_directory_path() / name).string(); }

const char* kGraph = R"(name: cli
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
  train: {split: train, range: [0, 200]}
  test: {split: test, range: [0, 100]}
train: {batch_size: 50, epochs: 1}
)";

std::string graph_with_data(const std::string& name, const std::string& data) {
  std::string text = kGraph;
  text.replace(text.find("DATA"), 4, data);
  return write(name, text);
}

}  // namespace

TEST_CASE("cli: plugins lists ops with their libraries") {
  Result r = run("plugins");
  CHECK(r.code == 0);
  CHECK(r.output.find("contrastive_loss") != std::string::npos);
  CHECK(r.output.find("libgraphrun_loss.so") != std::string::npos);
}

TEST_CASE("cli: malformed YAML exits 1 with file, line and column") {
  std::string path = write("bad.yaml", "name: x\ninputs: {a: {shape: [1]}\n");
  Result r = run("train " + path);
  CAPTURE(r.output);
  CHECK(r.code == 1);
  CHECK(r.output.find("graphrun: error: " + path + ":") == 0);
  CHECK(r.output.find("malformed YAML") != std::string::npos);
}

TEST_CASE("cli: a missing data folder names what was looked for") {
  Result r = run("train " + graph_with_data("nodata.yaml", "/nonexistent/mnist") + " --quiet --out " + out_dir("graphrun_cli_run"));
  CAPTURE(r.output);
  CHECK(r.code == 1);
  CHECK(r.output.find("train-images-idx3-ubyte") != std::string::npos);
  CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);  // one message, no stack of errors
}

TEST_CASE("cli: a truncated IDX file is reported as truncated") {
  REQUIRE_MESSAGE(graphrun::testing::have_mnist(), "data/mnist missing: run tools/setup.sh");
  auto dir = std::filesystem::temp_directory_path() / "graphrun_cli_truncated";
  std::filesystem::create_directories(dir);
  const std::string src = std::string(GRAPHRUN_SOURCE_DIR) + "/data/mnist/";
  for (auto f : {"train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"})
    std::filesystem::copy_file(src + f, dir / f, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(src + "train-images-idx3-ubyte", dir / "train-images-idx3-ubyte",
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::resize_file(dir / "train-images-idx3-ubyte", 5000);
  Result r = run("train " + graph_with_data("truncated.yaml", dir.string()) + " --quiet --out " + out_dir("graphrun_cli_run"));
  CAPTURE(r.output);
  CHECK(r.code == 1);
  CHECK(r.output.find("truncated") != std::string::npos);
}

TEST_CASE("cli: train then eval with the written weights gives the same figures") {
  REQUIRE_MESSAGE(graphrun::testing::have_mnist(), "data/mnist missing: run tools/setup.sh");
  const std::string graph = graph_with_data("ok.yaml", std::string(GRAPHRUN_SOURCE_DIR) + "/data/mnist");
  const std::string out = out_dir("graphrun_cli_ok");
  Result t = run("train " + graph + " --quiet --out " + out + " --threads 1");
  CAPTURE(t.output);
  REQUIRE(t.code == 0);
  Result e = run("eval " + graph + " --weights " + out + "/weights.safetensors --threads 1");
  CAPTURE(e.output);
  REQUIRE(e.code == 0);
  const std::string figures = t.output.substr(t.output.find("test: "));
  CHECK(e.output.find(figures) != std::string::npos);
}

TEST_CASE("cli: a plugin folder holding a broken library is a clear error") {
  auto dir = std::filesystem::temp_directory_path() / "graphrun_cli_plugins";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "libgraphrun_broken.so") << "garbage";
  Result r = run("plugins", "GRAPHRUN_PLUGIN_PATH=" + dir.string());
  CAPTURE(r.output);
  CHECK(r.code == 1);
  CHECK(r.output.find("libgraphrun_broken.so' could not be loaded") != std::string::npos);
}
