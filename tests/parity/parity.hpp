#pragma once
// Numerical parity with PyTorch: one training step of a graph in graphrun and of the same
// model in PyTorch (tools/bench/parity.py), from the same initial weights and batch.
// graphrun writes the weights (its own checkpoint) and the batch as safetensors files; the
// Python side answers with its forward output, loss, gradients, parameters after the
// step and updates, which are compared here element by element.
#include <doctest/doctest.h>

#include "data/idx.hpp"
#include "data/pairs.hpp"
#include "exec/plan.hpp"
#include "io/checkpoint.hpp"
#include "mnist.hpp"
#include "plugins.hpp"
#include "train/feed.hpp"
#include "train/optimizer.hpp"
#include "train/regularization.hpp"
#include "train/session.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <sys/wait.h>

namespace graphrun::parity {

// The PyTorch peer is Debian's python3-torch, installed for the system interpreter.
inline const char* kPython = "/usr/bin/python3";

inline bool have_torch() {
  static const bool ok = std::system((std::string(kPython) + " -c 'import torch' >/dev/null 2>&1").c_str()) == 0;
  return ok;
}

// Runs a command, returning its exit code and combined output.
inline int run(const std::string& cmd, std::string& output) {
  FILE* pipe = popen((cmd + " 2>&1").c_str(), "r");
  if (!pipe) return -1;
  std::array<char, 4096> buf;
  while (size_t n = std::fread(buf.data(), 1, buf.size(), pipe)) output.append(buf.data(), n);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Agreement of two arrays: |a - b| <= rel * max(|a|, |b|) + abs_floor for every element.
struct Agreement {
  double worst_ratio = 0;  // max of |a - b| / (rel * max(|a|, |b|) + abs_floor): <= 1 passes
  double max_rel = 0;      // max of |a - b| / max(|a|, |b|) over elements of at least 1e-3 x the largest
  double max_abs = 0;      // max of |a - b|
  size_t worst = 0;        // index of the element with worst_ratio
  double a = 0, b = 0;     // its two values
  bool same_size = true;

  bool ok() const { return same_size && worst_ratio <= 1.0; }
  std::string describe() const {
    std::ostringstream s;
    s << "max rel " << max_rel << ", max abs " << max_abs << ", worst element " << worst << ": graphrun " << a
      << " vs torch " << b << " (" << worst_ratio << " x the tolerance)";
    return s.str();
  }
};

constexpr double kRel = 1e-4, kAbsFloor = 1e-6;

inline Agreement compare(const std::vector<float>& a, const std::vector<float>& b) {
  Agreement r;
  if (a.size() != b.size()) {
    r.same_size = false;
    return r;
  }
  double largest = 0;
  for (size_t i = 0; i < a.size(); ++i) largest = std::max({largest, double(std::abs(a[i])), double(std::abs(b[i]))});
  for (size_t i = 0; i < a.size(); ++i) {
    const double x = a[i], y = b[i], d = std::abs(x - y), m = std::max(std::abs(x), std::abs(y));
    const double ratio = std::isfinite(d) ? d / (kRel * m + kAbsFloor) : INFINITY;
    if (i == 0 || ratio > r.worst_ratio) {
      r.worst_ratio = ratio;
      r.worst = i;
      r.a = x;
      r.b = y;
    }
    r.max_abs = std::max(r.max_abs, d);
    if (m > 0 && m >= 1e-3 * largest) r.max_rel = std::max(r.max_rel, d / m);
  }
  return r;
}

// What one side computed in one training step, by quantity name ("output", "loss",
// "grad/<param>", "param/<param>" after the step, "update/<param>" = after - before).
using Quantities = std::map<std::string, std::vector<float>>;

struct StepFiles {
  std::string dir, weights, batch, graphrun;
};

inline std::string temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("graphrun_parity_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

// A fresh folder for one parity case, with its files named.
inline StepFiles step_files(const std::string& name) {
  StepFiles f;
  f.dir = temp_dir(name);
  f.weights = f.dir + "/initial.safetensors";
  f.batch = f.dir + "/batch.safetensors";
  f.graphrun = f.dir + "/graphrun.safetensors";
  return f;
}

// A batch of `batch` pairs: real MNIST test images paired by the graph's own strategy when
// data/mnist exists, else random images with alternating labels.
inline data::Batch make_batch(const Session& s, int64_t batch, int64_t image_size) {
  data::Batch b;
  b.size = batch;
  b.left.resize(size_t(batch * image_size));
  b.right.resize(b.left.size());
  b.label.resize(size_t(batch));
  if (testing::have_mnist()) {
    const data::ImageSet set = data::load_idx_folder(std::string(GRAPHRUN_SOURCE_DIR) + "/data/mnist", "test");
    REQUIRE(set.image_size() == image_size);
    const DataSpec& d = s.spec().data;
    data::PairSpec ps;
    ps.strategy = d.strategy;
    ps.same_weight = d.same_weight;
    ps.other_weight = d.other_weight;
    ps.same_label = d.same_label;
    ps.seed = 7;
    const auto pairs = data::make_pairs(set.labels, ps);
    REQUIRE(int64_t(pairs.size()) >= batch);
    for (int64_t k = 0; k < batch; ++k) {
      set.copy_image(pairs[k].a, b.left.data() + k * image_size);
      set.copy_image(pairs[k].b, b.right.data() + k * image_size);
      b.label[size_t(k)] = pairs[k].label;
    }
  } else {
    std::mt19937 rng(11);
    std::uniform_real_distribution<float> pixel(0, 1);
    for (auto& v : b.left) v = pixel(rng);
    for (auto& v : b.right) v = pixel(rng);
    for (int64_t k = 0; k < batch; ++k) b.label[size_t(k)] = float(k % 2);
  }
  return b;
}

// One training step of the graph in graphrun (forward, backward, gradient reduction,
// optimizer); writes the initial weights and the batch for the Python side.
inline Quantities graphrun_step(const std::string& graph, int64_t batch, StepFiles& files) {
  SessionOptions o;
  o.out_dir = files.dir;
  o.progress = false;
  Session s(graph, testing::registry(), o);
  s.save_weights(files.weights);
  Model& m = s.model();
  std::map<std::string, std::vector<float>> initial;
  for (const Parameter& p : m.params()) initial[p.name] = p.value.plain_values();

  int left = -1, right = -1, label = -1;
  for (int id : m.graph_inputs()) {
    const auto f = batch_field(m.nodes()[id].feed);
    (f == BatchField::left ? left : f == BatchField::right ? right : label) = id;
  }
  REQUIRE(left >= 0);
  REQUIRE(right >= 0);
  REQUIRE(label >= 0);
  const Shape image = m.nodes()[left].shape;
  const data::Batch b = make_batch(s, batch, volume(image));

  Checkpoint in;
  Shape dims{batch};
  dims.insert(dims.end(), image.begin(), image.end());
  in.tensors["left"] = {dims, b.left};
  in.tensors["right"] = {dims, b.right};
  in.tensors["label"] = {{batch, 1}, b.label};
  write_checkpoint(files.batch, in);

  Plan plan(m, batch);
  std::copy(b.left.begin(), b.left.end(), plan.input(left).data());
  std::copy(b.right.begin(), b.right.end(), plan.input(right).data());
  std::copy(b.label.begin(), b.label.end(), plan.input(label).data());

  Quantities q;
  plan.forward(Mode::train, 0);
  const float* out = plan.output(m.output());
  q["output"].assign(out, out + batch);
  q["loss"] = {plan.loss()};
  plan.backward(0);
  plan.reduce_gradients();
  for (const Parameter& p : m.params())
    if (p.trainable) q["grad/" + p.name] = p.grad.plain_values();
  const TrainSpec& t = s.spec().train;
  auto optimizer = make_optimizer(t.optimizer, t.optimizer_args);
  add_l2_gradients(m.params());
  optimizer->step(m.params());
  for (const Parameter& p : m.params()) {
    const std::vector<float>& before = initial.at(p.name);
    q["param/" + p.name] = p.value.plain_values();
    const float* v = q["param/" + p.name].data();
    // The change on its own: a small update (or moving-average step) hides in 1e-4 of the value.
    std::vector<float>& delta = q["update/" + p.name];
    for (size_t i = 0; i < before.size(); ++i) delta.push_back(v[i] - before[i]);
  }

  Checkpoint mine;
  for (const auto& [name, v] : q) mine.tensors[name] = {{int64_t(v.size())}, v};
  write_checkpoint(files.graphrun, mine);
  return q;
}

// The same step in PyTorch; fails the test when the script fails.
inline Quantities torch_step(const std::string& model, const StepFiles& files, const std::string& out,
                             const std::string& extra = "") {
  const std::string cmd = std::string(kPython) + " " + GRAPHRUN_SOURCE_DIR + "/tools/bench/parity.py --model " + model +
                          " --weights " + files.weights + " --batch " + files.batch + " --out " + out + " " + extra;
  std::string output;
  const int code = run(cmd, output);
  INFO(cmd);
  INFO(output);
  REQUIRE(code == 0);
  Quantities q;
  for (auto& [name, t] : read_checkpoint(out).tensors) q[name] = std::move(t.values);
  return q;
}

// Names of the quantities outside the tolerance (or missing on either side), no assertion.
inline std::vector<std::string> disagreements(const Quantities& mine, const Quantities& theirs) {
  std::vector<std::string> out;
  for (const auto& [name, values] : mine) {
    auto it = theirs.find(name);
    if (it == theirs.end() || !compare(values, it->second).ok()) out.push_back(name);
  }
  for (const auto& [name, values] : theirs)
    if (!mine.count(name)) out.push_back(name);
  return out;
}

// Compares every quantity graphrun computed with PyTorch's; reports each quantity's
// agreement with MESSAGE, and fails on any quantity outside the tolerance or missing.
inline void check_parity(const Quantities& mine, const Quantities& theirs) {
  std::ostringstream summary;
  for (const auto& [name, values] : mine) {
    auto it = theirs.find(name);
    CAPTURE(name);
    REQUIRE_MESSAGE(it != theirs.end(), "PyTorch wrote no '" << name << "'");
    const Agreement a = compare(values, it->second);
    CAPTURE(values.size());
    CAPTURE(it->second.size());
    CHECK_MESSAGE(a.ok(), name << ": " << a.describe());
    summary << "  " << name << ": " << (a.ok() ? "ok" : "FAIL") << ", " << a.describe() << "\n";
  }
  for (const auto& [name, values] : theirs) CHECK_MESSAGE(mine.count(name), "graphrun has no '" << name << "'");
  MESSAGE("parity (|a - b| <= " << kRel << " max(|a|, |b|) + " << kAbsFloor << "):\n" << summary.str());
}

}  // namespace graphrun::parity
