#include "commands.hpp"

#include "train/checks.hpp"
#include "train/session.hpp"
#include "train/signals.hpp"
#include "train/threads.hpp"

#include <graphrun/error.hpp>
#include <graphrun/plugin_loader.hpp>

#include <cstdio>
#include <fstream>
#include <unistd.h>

namespace graphrun::cli {
namespace {

// Plugins stay loaded until the program ends: an exception a plugin threw may still be
// in flight (and name the plugin's code) after the command that loaded it has returned.
PluginLoader& loaded_plugins() {
  static PluginLoader loader;
  static bool loaded = (loader.load_default(), true);
  (void)loaded;
  return loader;
}

SessionOptions session_options(const Options& opt) {
  SessionOptions s;
  s.out_dir = opt.out;
  s.seed = opt.seed;
  s.epochs = opt.epochs;
  s.data_path = opt.data;
  s.precision = opt.precision;
  s.verbose = opt.verbose;
  s.progress = !opt.quiet;
  s.adaptive_threads = opt.threads == 0;  // and train.threads unset: the Session checks
  s.resume_dir = opt.resume;
  return s;
}

// Before plugins and data are loaded: a bad --threads fails at once.
void check_options(const Options& opt) {
  check_threads(opt.threads, "--threads");
  if (!opt.resume.empty() && (!opt.weights.empty() || opt.weights_from_other_graph))
    throw Error("--resume continues from RUN_DIR/last.safetensors: it takes no --weights or --weights-from-other-graph");
}

// A resumed run keeps its thread count: another would change the sums, hence the weights.
int thread_count(const Options& opt, const Session& s) {
  if (opt.threads > 0) return opt.threads;
  return s.spec().train.threads > 0 ? s.spec().train.threads : s.resumed_threads();
}

// The figures a run ends with, printed and written next to its history: loss and
// accuracy, verification (ROC in roc.csv) and one-shot accuracy where the graph has them.
void report(Session& s, const std::string& split, const std::string& dir) {
  const bool has_split = split != "test" || s.spec().data.test.present;
  const SplitFigures f = has_split ? s.evaluate_all(split) : SplitFigures{};
  const Metrics& m = f.metrics;
  std::printf("%s:", split.c_str());
  if (m.count() > 0) std::printf(" %lld examples", static_cast<long long>(m.count()));
  std::printf("\n");
  if (has_split) std::printf("  loss:      %.4f\n", m.loss());
  std::string json = "{\"split\": \"" + split + "\", \"examples\": " + std::to_string(m.count()) +
                     ", \"loss\": " + std::to_string(m.loss());
  if (m.count() > 0) {
    std::printf("  accuracy:  %.4f\n", m.accuracy());
    json += ", \"accuracy\": " + std::to_string(m.accuracy());
  }
  if (m.same_class() >= 0 && m.count() > 0) {
    const int c = m.same_class();
    std::printf("  precision (same): %.4f\n  recall (same):    %.4f\n  f1 (same):        %.4f\n", m.precision(c), m.recall(c), m.f1(c));
    json += ", \"precision_same\": " + std::to_string(m.precision(c)) + ", \"recall_same\": " + std::to_string(m.recall(c)) +
            ", \"f1_same\": " + std::to_string(m.f1(c));
  }
  if (f.verification) {
    std::printf("%s", eval::report(*f.verification).c_str());
    json += ", " + eval::json_fields(*f.verification);
    eval::write_roc_csv(dir + "/roc.csv", *f.verification);
  }
  if (f.oneshot) {
    std::printf("%s", eval::report(*f.oneshot, "one-shot tasks").c_str());
    json += ", " + eval::json_fields(*f.oneshot, "tasks");
  }
  if (!s.spec().evaluation.oneshot_runs.empty() && split == "test") {
    const eval::OneShotResult runs = s.evaluate_oneshot_runs();
    std::printf("%s", eval::report(runs, "official one-shot runs").c_str());
    json += ", " + eval::json_fields(runs, "oneshot_runs");
  }
  if (m.count() > 0) std::printf("\n%s", m.report().c_str());
  const std::string file = dir + "/" + split + ".json";
  std::ofstream out(file);
  out << json << ", \"graph\": \"" << s.spec().name << "\", \"seed\": " << s.seed() << "}\n";
  out.flush();
  if (!out) throw Error(file + ": cannot write the " + split + " figures");
}

}  // namespace

int train(const Options& opt) {
  check_options(opt);
  PluginLoader& loader = loaded_plugins();
  Session s(opt.graph, loader.registry(), session_options(opt));
  prepare_run_folder(s.out_dir());
  set_threads(thread_count(opt, s));
  if (!opt.weights.empty()) s.load_weights(opt.weights, opt.weights_from_other_graph);
  if (!opt.quiet)
    std::fprintf(stderr, "graphrun: %s %s (seed %llu, %d threads) into %s\n", opt.resume.empty() ? "training" : "resuming",
                 s.spec().name.c_str(), static_cast<unsigned long long>(s.seed()), threads(), s.out_dir().c_str());
  try {
    s.train();
  } catch (const Interrupted& e) {
    if (!opt.quiet && isatty(STDERR_FILENO)) std::fputc('\n', stderr);  // past a live progress bar
    std::fprintf(stderr, "graphrun: interrupted at epoch %lld step %lld; resume with: graphrun train %s --resume %s\n",
                 (long long)e.epoch, (long long)e.step, opt.graph.c_str(), s.out_dir().c_str());
    return 128 + e.signal;
  }
  std::printf("weights: %s/weights.safetensors\nhistory: %s/history.csv\n", s.out_dir().c_str(), s.out_dir().c_str());
  if (s.spec().data.test.present || !s.spec().evaluation.oneshot_runs.empty()) report(s, "test", s.out_dir());
  return 0;
}

int eval(const Options& opt) {
  check_options(opt);
  PluginLoader& loader = loaded_plugins();
  Session s(opt.graph, loader.registry(), session_options(opt));
  prepare_run_folder(s.out_dir());
  set_threads(thread_count(opt, s));
  if (!opt.weights.empty()) {
    s.load_weights(opt.weights, opt.weights_from_other_graph);
  } else if (s.model().has_trainable_params()) {
    std::fprintf(stderr, "graphrun: warning: no --weights given: scoring the freshly initialised graph\n");
  }
  report(s, opt.split, s.out_dir());
  return 0;
}

int summary(const Options& opt) {
  PluginLoader& loader = loaded_plugins();
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  const Model m(load_graph_spec(opt.graph), loader.registry(), engine);
  std::printf("Graph: \"%s\"\n", m.spec().name.c_str());
  const std::string rule(92, '_'), thick(92, '=');
  std::printf("%s\n%-34s %-20s %-12s %s\n%s\n", rule.c_str(), "Node (op)", "Output shape", "Param #", "Inputs", thick.c_str());
  std::vector<bool> counted(m.params().size(), false);
  int64_t trainable = 0, frozen = 0;
  for (const auto& d : m.nodes()) {
    int64_t count = 0;
    for (int p : d.params) {
      const Parameter& prm = m.params()[p];
      const int64_t n = volume(prm.spec.dims);
      count += n;
      if (counted[p]) continue;  // a shared tower's parameters are counted once
      counted[p] = true;
      (prm.trainable ? trainable : frozen) += n;
    }
    std::string inputs;
    for (int in : d.inputs) inputs += (inputs.empty() ? "" : ", ") + m.nodes()[in].name;
    std::string shape = "(None";
    for (auto v : d.shape) shape += ", " + (v == kBatchDim ? std::string("N") : std::to_string(v));  // N: the batch size
    shape += ")";
    std::printf("%-34s %-20s %-12lld %s\n", (d.name + " (" + d.op + ")").c_str(), shape.c_str(), static_cast<long long>(count),
                inputs.c_str());
  }
  std::printf("%s\nTotal params: %lld\nTrainable params: %lld\nNon-trainable params: %lld\n", thick.c_str(),
              static_cast<long long>(trainable + frozen), static_cast<long long>(trainable), static_cast<long long>(frozen));
  for (const auto& [tower, spec] : m.spec().towers) {  // a shared tower's parameters, counted once
    int64_t n = 0;
    for (const auto& p : m.params())
      if (p.name.rfind(tower + "/", 0) == 0) n += volume(p.spec.dims);
    std::printf("Tower '%s': %lld params (%zu layers)\n", tower.c_str(), static_cast<long long>(n), spec.layers.size());
  }
  std::printf("%s\n", rule.c_str());
  return 0;
}

int plugins(const Options& opt) {
  PluginLoader& loader = loaded_plugins();
  for (const auto& [name, op] : loader.registry().ops()) {
    std::printf("%-22s %-48s %s\n", name.c_str(), op.description.c_str(), op.library.c_str());
    if (!opt.verbose) continue;
    for (const auto& a : op.attrs)
      std::printf("    %-20s %-16s %s\n", a.name.c_str(), a.default_value.empty() ? "(required)" : ("= " + a.default_value).c_str(),
                  a.doc.c_str());
  }
  return 0;
}

}  // namespace graphrun::cli
