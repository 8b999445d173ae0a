// graphrun_bench: the graphrun side of tools/bench/bench.py. It times what a training
// epoch or an evaluation pass costs in the steps themselves: data files are read, pairs
// sampled and plans created before the clock starts; the steps are `graphrun train`'s own
// (train/step_loop.hpp: batch assembly by the prefetching loader, forward, backward,
// gradient reduction, L2, the optimizer at the schedule's learning rate, running metrics).
//
//   graphrun_bench prepare GRAPH --out DIR     initial weights and the train/test pairs,
//                                              so that the PyTorch peer uses the same ones
//   graphrun_bench train GRAPH --steps N       one epoch (or N steps) of training
//                  [--onednn-verbose]          ... with oneDNN's per-primitive times of the steps
//   graphrun_bench infer GRAPH --batch B       forward passes over the test pairs
//
// Each prints one JSON object on stdout.
#include "bench_data.hpp"
#include "data/batches.hpp"
#include "data/idx.hpp"
#include "data/pairs.hpp"
#include "data/random.hpp"
#include "exec/plan.hpp"
#include "train/feed.hpp"
#include "train/optimizer.hpp"
#include "train/session.hpp"
#include "train/step_loop.hpp"
#include "train/threads.hpp"

#include <graphrun/error.hpp>
#include <graphrun/plugin_loader.hpp>

#include <CLI/CLI.hpp>
#include <dnnl.hpp>
#include <nlohmann/json.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

namespace {

using namespace graphrun;
namespace fs = std::filesystem;
using json = nlohmann::json;
using bench::SplitData;
using bench::load_split;
using bench::split_info;
using bench::write_images;
using bench::write_pairs;

struct Options {
  std::string graph, data, out, weights, train_range, precision;
  uint64_t seed = 0;
  bool has_seed = false;
  int threads = 2;
  int64_t steps = 0, batch = 0;
  bool verbose = false;
  bool onednn_verbose = false;
};

// A field of /proc/self/status in MB ("VmHWM": the peak resident set, "VmRSS": now).
double status_mb(const std::string& field) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) / 1024.0;
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;  // kilobytes on Linux
}

void add_memory(nlohmann::json& report) {
  report["peak_rss_mb"] = status_mb("VmHWM");
  report["end_rss_mb"] = status_mb("VmRSS");
}

SessionOptions session_options(const Options& o) {
  SessionOptions s;
  s.out_dir = fs::temp_directory_path() / "graphrun_bench_unused";
  if (o.has_seed) s.seed = o.seed;
  s.data_path = o.data;
  s.precision = o.precision;
  s.verbose = o.verbose;
  s.progress = false;
  return s;
}

// Runs `make` with stderr sent to a temporary file; returns what was written there.
std::string capture_stderr(const std::function<void()>& make) {
  std::fflush(stderr);
  FILE* tmp = std::tmpfile();
  if (!tmp) throw Error("cannot create a temporary file");
  const int saved = dup(2);
  dup2(fileno(tmp), 2);
  auto restore = [&] {
    std::fflush(stderr);
    dup2(saved, 2);
    close(saved);
  };
  try {
    make();
  } catch (...) {
    restore();
    std::fclose(tmp);
    throw;
  }
  restore();
  std::string text;
  std::rewind(tmp);
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, tmp)) text.append(buf, n);
  std::fclose(tmp);
  return text;
}

// Every primitive of a plan: node (from implementations()), pass (from the verbose log,
// which lists the same primitives in the same order) and oneDNN implementation.
json describe_primitives(const std::vector<std::string>& impls, const std::string& log) {
  std::vector<std::pair<std::string, std::string>> logged;  // pass, implementation
  std::istringstream in(log);
  const std::string tag = "[graphrun] ", slow = "   <-- reference kernel (slow)";
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(tag, 0) != 0) continue;
    if (line.find("kept in the layout") != std::string::npos) continue;  // a note on a parameter, not a primitive
    line = line.substr(tag.size());
    if (line.size() >= slow.size() && line.compare(line.size() - slow.size(), slow.size(), slow) == 0)
      line.resize(line.size() - slow.size());
    const auto cut = line.find_last_of(' ');
    std::string what = line.substr(0, cut == std::string::npos ? 0 : cut);
    what.erase(what.find_last_not_of(' ') + 1);
    logged.emplace_back(what, line.substr(cut == std::string::npos ? 0 : cut + 1));
  }
  json out = json::array();
  for (size_t i = 0; i < impls.size(); ++i) {
    const auto colon = impls[i].rfind(": ");
    const std::string node = colon == std::string::npos ? "" : impls[i].substr(0, colon);
    const std::string impl = colon == std::string::npos ? impls[i] : impls[i].substr(colon + 2);
    const bool paired = logged.size() == impls.size() && logged[i].second == impl;
    out.push_back({{"node", node}, {"pass", paired ? logged[i].first : "?"}, {"impl", impl},
                   {"ref", impl.rfind("ref", 0) == 0}});
  }
  return out;
}

// A plan for every batch size the run will see (full batches and the epoch's remainder),
// created before timing. The full-batch plan's primitives go into the report.
std::map<int64_t, std::unique_ptr<Plan>> make_plans(Model& m, int64_t pairs, int64_t batch, int64_t steps, bool verbose,
                                                    json& report) {
  std::set<int64_t> sizes;
  const int64_t per_epoch = (pairs + batch - 1) / batch;
  for (int64_t i = 0; i < std::min(steps, per_epoch); ++i) sizes.insert(std::min(batch, pairs - i * batch));
  if (steps > per_epoch) sizes.insert(std::min(batch, pairs));
  std::map<int64_t, std::unique_ptr<Plan>> plans;
  const int64_t main = *sizes.rbegin();
  for (int64_t size : sizes)
    if (size != main) plans[size] = std::make_unique<Plan>(m, size, false);
  const std::string log = capture_stderr([&] { plans[main] = std::make_unique<Plan>(m, main, true); });
  if (verbose) std::fputs(log.c_str(), stderr);
  const json prims = describe_primitives(plans[main]->implementations(), log);
  int refs = 0;
  for (const auto& p : prims) refs += p["ref"].get<bool>() ? 1 : 0;
  report["primitives"] = prims;
  report["ref_implementations"] = refs;
  return plans;
}

int prepare(const Options& o, const Registry& registry) {
  Session s(o.graph, registry, session_options(o));
  fs::create_directories(o.out);
  s.save_weights(o.out + "/initial.safetensors");
  const SplitData train = load_split(s, "train", o.train_range);
  write_pairs(o.out + "/train_pairs.bin", train.pairs);
  json info = {{"graph", s.spec().name}, {"seed", s.seed()}, {"batch_size", s.spec().train.batch_size},
               {"eval_batch_size", s.spec().train.eval_batch_size ? s.spec().train.eval_batch_size : s.spec().train.batch_size},
               {"train", split_info(train)}};
  write_images(o.out, "train", train, s, info);
  if (s.spec().data.test.present) {
    const SplitData test = load_split(s, "test", "");
    write_pairs(o.out + "/test_pairs.bin", test.pairs);
    info["test"] = split_info(test);
    write_images(o.out, "test", test, s, info);
  }
  std::ofstream(o.out + "/prepare.json") << info.dump(2) << "\n";
  std::printf("%s\n", info.dump().c_str());
  return 0;
}

int train(const Options& o, const Registry& registry) {
  Session s(o.graph, registry, session_options(o));
  set_threads(o.threads);
  if (!o.weights.empty()) s.load_weights(o.weights);
  Model& m = s.model();
  const TrainSpec& t = s.spec().train;
  const SplitData split = load_split(s, "train", o.train_range);
  const int64_t batch = o.batch > 0 ? o.batch : t.batch_size;
  data::BatchLoader loader(split.images, split.pairs, batch, true, data::mix_seed(s.seed(), 4));
  const int64_t steps = o.steps > 0 ? o.steps : loader.batches_per_epoch();
  json report = {{"side", "graphrun"}, {"mode", "train"}, {"graph", s.spec().name}, {"threads", threads()},
                 {"batch", batch}, {"steps", steps}};
  auto plans = make_plans(m, int64_t(split.pairs.size()), batch, steps, o.verbose, report);
  auto optimizer = make_optimizer(t.optimizer, t.optimizer_args);
  StepLoop loop(m, *optimizer, [&plans](int64_t size) -> Plan& { return *plans.at(size); }, s.seed(), 0,
                s.spec().data.strategy != "class_balanced");

  int64_t examples = 0, epoch = 0;
  std::vector<double> step_seconds;
  // oneDNN's own log of the timed steps (one line per primitive run, with its time, on
  // stdout): plan creation above ran with it off, so only the steps are in it.
  if (o.onednn_verbose) {
    std::printf("graphrun_bench: timed steps begin\n");
    std::fflush(stdout);
    dnnl::set_verbose(1);
  }
  const auto start = std::chrono::steady_clock::now();
  auto last = start;
  loop.start_epoch(loader, epoch);
  for (int64_t i = 0; i < steps; ++i) {
    int64_t done = loop.step();
    if (!done) {  // more steps than one epoch: carry on with the next one
      loop.start_epoch(loader, ++epoch);
      done = loop.step();
    }
    examples += done;
    if (steps <= 1000) {
      const auto now = std::chrono::steady_clock::now();
      step_seconds.push_back(std::chrono::duration<double>(now - last).count());
      last = now;
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (o.onednn_verbose) {
    dnnl::set_verbose(0);
    std::fflush(stdout);
  }
  if (!step_seconds.empty()) report["step_seconds"] = step_seconds;
  report["seconds"] = seconds;
  report["examples"] = examples;
  report["mean_loss"] = loop.metrics().loss();  // the L2 term included, as graphrun train reports it
  add_memory(report);
  std::printf("%s\n", report.dump().c_str());
  return 0;
}

int infer(const Options& o, const Registry& registry) {
  Session s(o.graph, registry, session_options(o));
  set_threads(o.threads);
  if (!o.weights.empty()) s.load_weights(o.weights);
  Model& m = s.model();
  const SplitData split = load_split(s, "test", "");
  const TrainSpec& t = s.spec().train;
  const int64_t batch = o.batch > 0 ? o.batch : (t.eval_batch_size ? t.eval_batch_size : t.batch_size);
  data::BatchLoader loader(split.images, split.pairs, batch, false, 0);
  const int64_t steps = loader.batches_per_epoch();
  json report = {{"side", "graphrun"}, {"mode", "infer"}, {"graph", s.spec().name}, {"threads", threads()},
                 {"batch", batch}, {"steps", steps}};
  auto plans = make_plans(m, int64_t(split.pairs.size()), batch, steps, o.verbose, report);

  double output_sum = 0;
  int64_t pairs = 0;
  const int out = m.output();
  const int64_t width = volume(m.nodes()[out].shape);
  const auto start = std::chrono::steady_clock::now();
  loader.start_epoch(0);
  while (const data::Batch* b = loader.next()) {
    Plan& p = *plans.at(b->size);
    feed_batch(m, p, *b);
    p.forward(Mode::eval, 0);
    const float* y = p.output(out);
    for (int64_t k = 0; k < b->size * width; ++k) output_sum += y[k];
    pairs += b->size;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report["seconds"] = seconds;
  report["examples"] = pairs;
  report["pairs_per_second"] = double(pairs) / seconds;
  report["mean_output"] = output_sum / double(pairs * width);
  add_memory(report);
  std::printf("%s\n", report.dump().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"graphrun_bench: times graphrun's training steps and inference for tools/bench/bench.py"};
  app.require_subcommand(1);
  Options o;
  auto common = [&](CLI::App* cmd) {
    cmd->add_option("graph", o.graph, "graph file (YAML)")->required()->check(CLI::ExistingFile);
    cmd->add_option("--data", o.data, "data folder (overrides data.path)");
    cmd->add_option_function<uint64_t>("--seed", [&](uint64_t v) { o.seed = v, o.has_seed = true; },
                                       "seed (overrides train.seed)");
    cmd->add_option("--train-range", o.train_range, "BEGIN:END: train on these images of the train split instead");
    cmd->add_option("--precision", o.precision, "f32 or bf16 (overrides train.precision)")
        ->check(CLI::IsMember({"f32", "bf16"}));
  };
  CLI::App* prep = app.add_subcommand("prepare", "write initial weights and the train/test pairs into a folder");
  common(prep);
  prep->add_option("--out", o.out, "folder")->required();
  CLI::App* tr = app.add_subcommand("train", "time the training steps of one epoch");
  CLI::App* inf = app.add_subcommand("infer", "time forward passes over the test pairs (pairs/s)");
  for (CLI::App* cmd : {tr, inf}) {
    common(cmd);
    cmd->add_option("--threads", o.threads, "compute threads (default 2)");
    cmd->add_option("--weights", o.weights, "start from these weights (a checkpoint of this graph)");
    cmd->add_option("--batch", o.batch, "batch size (default: the graph's)");
    cmd->add_flag("-v,--verbose", o.verbose, "also log every primitive and its oneDNN implementation on stderr");
  }
  tr->add_option("--steps", o.steps, "training steps (default: one epoch)");
  tr->add_flag("--onednn-verbose", o.onednn_verbose,
               "oneDNN's verbose log (every primitive run and its time) of the timed steps on stdout");
  CLI11_PARSE(app, argc, argv);
  try {
    PluginLoader loader;
    loader.load_default();
    if (*prep) return prepare(o, loader.registry());
    if (*tr) return train(o, loader.registry());
    if (*inf) return infer(o, loader.registry());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "graphrun_bench: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
