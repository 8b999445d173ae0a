// Interrupted runs: a run killed (SIGKILL) or stopped (SIGINT, SIGTERM) inside an epoch and
// continued with --resume ends with the weights and history.csv of an uninterrupted run,
// bit for bit (one thread: the sums of several would depend on their timing).
#include <doctest/doctest.h>

#include "../data/idx_files.hpp"
#include "cli_run.hpp"
#include "cli_spawn.hpp"
#include "io/checkpoint.hpp"

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <thread>

namespace {

namespace fs = std::filesystem;
using namespace graphrun::testing;

// Graph files and run folders, removed when the test binary ends.
TempDir& scratch() {
  static TempDir dir;
  return dir;
}

// 100 training images (a fifth held out for validation) and 20 test images of 28 x 28.
const std::string& tiny_data() {
  static TempDir dir;
  static const std::string path = [] {
    for (auto [prefix, n] : {std::pair<const char*, uint32_t>{"train", 100}, {"t10k", 20}}) {
      std::vector<unsigned char> pixels(size_t(n) * 784), labels(n);
      for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<unsigned char>((i * 7919) % 251);
      for (uint32_t i = 0; i < n; ++i) labels[i] = static_cast<unsigned char>(i % 10);
      write_raw(dir.file(std::string(prefix) + "-images-idx3-ubyte"), idx_images(n, 28, 28, pixels));
      write_raw(dir.file(std::string(prefix) + "-labels-idx1-ubyte"), idx_labels(n, labels));
    }
    return dir.str();
  }();
  return path;
}

// Everything a resumed run must carry on: batch-norm statistics, dropout and augmentation
// draws, a cosine schedule, both callbacks, Adam's moments; a checkpoint every 9 of the 40
// steps of an epoch, so most fall inside one.
const char* kGraph = R"(name: resume_test
inputs:
  left:  {shape: [784]}
  right: {shape: [784]}
  same:  {shape: [1], feed: label}
towers:
  enc:
    - {op: dense, units: 32}
    - {op: batch_norm, activation: relu}
    - {op: dropout, rate: 0.2}
nodes:
  a:    {tower: enc, input: left}
  b:    {tower: enc, input: right}
  d:    {op: l1_distance, inputs: [a, b]}
  p:    {op: dense, units: 1, activation: sigmoid, input: d}
  loss: {op: binary_crossentropy, inputs: [p, same]}
output: p
loss: loss
data:
  path: DATA
  pairs: {strategy: balanced}
  augment: {rotation: 5, translate: 0.05}
  train: {split: train}
  validation: {holdout: 0.2}
  test: {split: test}
train:
  optimizer: {name: adam, learning_rate: 0.01}
  batch_size: 4
  epochs: 6
  schedule: {name: cosine, min_fraction: 0.1}
  early_stopping: {monitor: val_loss, patience: 100, restore_best: false}
  reduce_lr_on_plateau: {monitor: loss, factor: 0.5, patience: 1, min_delta: 0.005}
  checkpoint_every_steps: 9
)";

std::string graph(const std::string& name, const std::string& from = "", const std::string& to = "") {
  std::string text = kGraph;
  text.replace(text.find("DATA"), 4, tiny_data());
  if (!from.empty()) text.replace(text.find(from), from.size(), to);
  const std::string path = scratch().file(name);  // its own per test process: the data path differs
  std::ofstream(path) << text;
  return path;
}

std::string fresh_dir(const std::string& name) {
  const std::string d = scratch().file("run_" + name);
  fs::remove_all(d);
  return d;
}

std::vector<std::string> train_args(const std::string& g, const std::string& out) {
  return {"train", g, "--threads", "1", "--quiet", "--out", out};
}

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// The uninterrupted run, once for every case.
const std::string& reference() {
  static const std::string dir = [] {
    const std::string d = fresh_dir("reference");
    std::string args;
    for (const auto& a : train_args(graph("graph.yaml"), d)) args += a + " ";
    const CliResult r = run_cli(args);
    INFO(r.output);
    REQUIRE(r.code == 0);
    return d;
  }();
  return dir;
}

// history.csv without its last column (seconds, which no two runs share).
std::string history_without_seconds(const std::string& dir) {
  std::istringstream in(read_text(dir + "/history.csv"));
  std::string out;
  for (std::string line; std::getline(in, line);) out += line.substr(0, line.rfind(',')) + "\n";
  return out;
}

std::string first_lines(const std::string& text, size_t n) {
  size_t end = 0;
  for (size_t i = 0; i < n && end < text.size(); ++i) {
    const size_t nl = text.find('\n', end);
    end = nl == std::string::npos ? text.size() : nl + 1;
  }
  return text.substr(0, end);
}

// Every tensor (parameters, batch-norm statistics, optimizer state) of two checkpoints, bit for bit.
void check_same_tensors(const std::string& a, const std::string& b) {
  const graphrun::Checkpoint x = graphrun::read_checkpoint(a), y = graphrun::read_checkpoint(b);
  REQUIRE(x.tensors.size() == y.tensors.size());
  CHECK(x.tensors.size() > 10);
  for (const auto& [name, t] : x.tensors) {
    CAPTURE(name);
    auto it = y.tensors.find(name);
    REQUIRE(it != y.tensors.end());
    CHECK(it->second.shape == t.shape);
    REQUIRE(it->second.values.size() == t.values.size());
    CHECK(std::memcmp(it->second.values.data(), t.values.data(), t.values.size() * sizeof(float)) == 0);
  }
}

void check_same_run(const std::string& dir) {
  check_same_tensors(reference() + "/weights.safetensors", dir + "/weights.safetensors");
  check_same_tensors(reference() + "/best.safetensors", dir + "/best.safetensors");
  CHECK(history_without_seconds(dir) == history_without_seconds(reference()));
}

ino_t inode(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// Waits for the child to replace last.safetensors (each write is a new file renamed onto
// it), then stops the child with SIGSTOP so that the file stays as read. False if the child
// ended first (its exit in `code`).
bool next_checkpoint(pid_t pid, const std::string& dir, ino_t& seen, int& code) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    const ino_t now = inode(dir + "/last.safetensors");
    if (now != 0 && now != seen) {
      kill(pid, SIGSTOP);
      seen = inode(dir + "/last.safetensors");
      return true;
    }
    if (ended(pid, code)) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  kill(pid, SIGKILL);
  code = wait_cli(pid);
  return false;
}

int64_t meta(const std::string& dir, const std::string& key) {
  return std::stoll(graphrun::read_checkpoint(dir + "/last.safetensors").metadata.at(key));
}

CliResult resume(const std::string& g, const std::string& dir) { return run_cli("train " + g + " --quiet --resume " + dir); }

}  // namespace

TEST_CASE("resume: a run killed with SIGKILL inside an epoch ends as an uninterrupted one") {
  const std::string g = graph("graph.yaml"), dir = fresh_dir("killed");
  reference();
  const pid_t pid = spawn_cli(train_args(g, dir), dir + ".log");
  ino_t seen = 0;
  int code = 0;
  // A checkpoint inside the last epoch, after ReduceLROnPlateau has halved the rate: all the
  // state there is to restore (the signal cases below stop the run in its first epoch).
  while (true) {
    REQUIRE_MESSAGE(next_checkpoint(pid, dir, seen, code), "the run ended (", code, ") before it could be killed");
    if (meta(dir, "run_epoch") == 5 && meta(dir, "run_epoch_step") > 0) break;
    kill(pid, SIGCONT);
  }
  CHECK(graphrun::read_checkpoint(dir + "/last.safetensors").metadata.at("run_plateau_factor") == "0.5");
  kill(pid, SIGKILL);
  CHECK(wait_cli(pid) == -SIGKILL);
  CHECK(!fs::exists(dir + "/weights.safetensors"));
  const int64_t epoch = meta(dir, "run_epoch");
  const graphrun::Checkpoint last = graphrun::read_checkpoint(dir + "/last.safetensors");
  CHECK(last.tensors.count("enc/batch_norm_1/moving_mean") == 1);  // parameters of kind state
  CHECK(last.tensors.count("enc/batch_norm_1/moving_variance") == 1);
  CHECK(last.tensors.count("__optimizer__/enc/dense_1/kernel/v") == 1);
  // The rows of the epochs done stay as written (seconds too); rows past the checkpoint (a
  // later epoch's, one cut short) are dropped on resuming.
  const std::string kept = first_lines(read_text(dir + "/history.csv"), size_t(epoch) + 1);
  std::ofstream(dir + "/history.csv", std::ios::app) << "99,1,2,3,4,5,6,7,8\n100,0.5";
  const CliResult r = resume(g, dir);  // no --threads: the run's one thread is kept
  INFO(r.output);
  REQUIRE(r.code == 0);
  check_same_run(dir);
  CHECK(read_text(dir + "/history.csv").rfind(kept, 0) == 0);
}

TEST_CASE("resume: SIGINT and SIGTERM finish the step, save, say how to resume and exit 130 / 143") {
  const std::string g = graph("graph.yaml");
  reference();
  for (auto [signal, exit_code] : {std::pair<int, int>{SIGINT, 130}, {SIGTERM, 143}}) {
    CAPTURE(signal);
    const std::string dir = fresh_dir("signal" + std::to_string(signal)), log = dir + ".log";
    const pid_t pid = spawn_cli(train_args(g, dir), log);
    ino_t seen = 0;
    int code = 0;
    REQUIRE_MESSAGE(next_checkpoint(pid, dir, seen, code), "the run ended (", code, ") before it could be signalled");
    kill(pid, signal);
    kill(pid, SIGCONT);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    kill(pid, signal);  // a second one, most likely while saving: changes nothing
    CHECK(wait_cli(pid) == exit_code);
    const std::string output = read_text(log);
    CAPTURE(output);
    long long epoch = 0, step = 0;
    const size_t at = output.find("graphrun: interrupted at epoch ");
    REQUIRE(at != std::string::npos);
    REQUIRE(std::sscanf(output.c_str() + at, "graphrun: interrupted at epoch %lld step %lld", &epoch, &step) == 2);
    CHECK(output.substr(at) == "graphrun: interrupted at epoch " + std::to_string(epoch) + " step " + std::to_string(step) +
                                   "; resume with: graphrun train " + g + " --resume " + dir + "\n");
    // The checkpoint holds that step: inside epoch `epoch`, or at its end once it is whole.
    const int64_t done = meta(dir, "run_epoch"), in_epoch = meta(dir, "run_epoch_step");
    CHECK(((done == epoch - 1 && in_epoch == step) || (done == epoch && in_epoch == 0)));
    CHECK(!fs::exists(dir + "/weights.safetensors"));
    const CliResult r = resume(g, dir);
    INFO(r.output);
    REQUIRE(r.code == 0);
    check_same_run(dir);
  }
}

TEST_CASE("resume: refused without a checkpoint, for another graph or graph text, with --weights") {
  const std::string g = graph("graph.yaml"), run = reference();
  auto refused = [](const CliResult& r, const std::string& part) {
    CAPTURE(r.output);
    CHECK(r.code == 1);
    CHECK(r.output.rfind("graphrun: error: ", 0) == 0);
    CHECK(r.output.find(part) != std::string::npos);
  };
  const std::string empty = fresh_dir("empty");
  fs::create_directories(empty);
  refused(resume(g, empty), empty + ": nothing to resume: the folder has no last.safetensors");
  const std::string other = graph("other.yaml", "name: resume_test", "name: other_graph");
  refused(resume(other, run), "the run was trained with graph 'resume_test', not with this graph 'other_graph'");
  const std::string edited = graph("edited.yaml", "epochs: 6", "epochs: 7");
  refused(resume(edited, run), "the run was trained with another version of " + edited);
  refused(run_cli("train " + g + " --resume " + run + " --weights " + run + "/weights.safetensors"),
          "--resume continues from RUN_DIR/last.safetensors: it takes no --weights");
  refused(run_cli("train " + g + " --resume " + run + " --seed 5"), "--seed 5 differs from the seed of the run");
}

TEST_CASE("resume: a finished run resumed changes nothing") {
  const std::string g = graph("graph.yaml"), dir = fresh_dir("finished");
  fs::copy(reference(), dir);
  const std::string history = read_text(dir + "/history.csv");
  const CliResult r = resume(g, dir);
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK(read_text(dir + "/history.csv") == history);
  check_same_tensors(reference() + "/weights.safetensors", dir + "/weights.safetensors");
}
