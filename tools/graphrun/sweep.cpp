#include "sweep.hpp"

#include "graph/overrides.hpp"
#include "graph/spec.hpp"
#include "train/session.hpp"
#include "train/threads.hpp"

#include <graphrun/error.hpp>
#include <graphrun/plugin_loader.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace fs = std::filesystem;

namespace graphrun::cli {
namespace {

const std::vector<std::string> kSorts = {"val_loss", "val_accuracy", "loss", "accuracy"};

struct Axis {
  std::string key;
  std::vector<std::string> values;
};

struct Row {
  std::string run;                 // folder name under the sweep folder
  std::vector<std::string> values; // one per axis
  bool ok = false, has_val = false;
  std::string message;
  double figure[4] = {NAN, NAN, NAN, NAN};  // last epoch, in kSorts' order
  double best_val_loss = NAN, best_val_accuracy = NAN, seconds = 0;
  int64_t best_epoch = 0;
};

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

std::vector<Axis> parse_grid(const std::vector<std::string>& grid) {
  std::vector<Axis> axes;
  std::set<std::string> keys;
  for (const std::string& g : grid) {
    const size_t eq = g.find('=');
    Axis a{trim(g.substr(0, eq)), {}};
    if (eq == std::string::npos || a.key.empty())
      throw Error("--grid '" + g + "': expected KEY=V1,V2,... (e.g. --grid train.epochs=10,20)");
    const std::string list = g.substr(eq + 1);
    if (trim(list).empty()) throw Error("--grid '" + g + "': the value list of '" + a.key + "' is empty");
    std::stringstream ss(list);
    for (std::string v; std::getline(ss, v, ',');) {
      v = trim(v);
      if (v.empty()) throw Error("--grid '" + g + "': an empty value in the list (values are separated by single commas)");
      if (std::find(a.values.begin(), a.values.end(), v) != a.values.end())
        throw Error("--grid '" + g + "': the value '" + v + "' is given twice");
      a.values.push_back(v);
    }
    if (list.back() == ',') throw Error("--grid '" + g + "': an empty value in the list (values are separated by single commas)");
    if (!keys.insert(a.key).second) throw Error("--grid: the key '" + a.key + "' is given twice; give all its values in one --grid");
    axes.push_back(std::move(a));
  }
  return axes;
}

// Folder names use each key's shortest dotted tail that no other grid key ends with
// (learning_rate, drop.rate vs encoder.1.rate); the index prefix keeps them unique.
std::vector<std::string> short_keys(const std::vector<Axis>& axes) {
  auto tail = [](const std::string& key, size_t n) {
    size_t pos = key.size();
    for (size_t i = 0; i < n && pos != std::string::npos; ++i) pos = pos == 0 ? std::string::npos : key.rfind('.', pos - 1);
    return pos == std::string::npos ? key : key.substr(pos + 1);
  };
  std::vector<std::string> out;
  for (const Axis& a : axes) {
    const size_t parts = std::count(a.key.begin(), a.key.end(), '.') + 1;
    std::string name = a.key;
    for (size_t n = 1; n < parts; ++n) {
      const std::string t = tail(a.key, n);
      if (std::none_of(axes.begin(), axes.end(), [&](const Axis& b) { return &b != &a && tail(b.key, n) == t; })) {
        name = t;
        break;
      }
    }
    out.push_back(name);
  }
  return out;
}

std::string sanitise(const std::string& s, size_t max) {
  std::string out;
  for (unsigned char c : s) out += (std::isalnum(c) || c == '_' || c == '.' || c == '-' || c == '+' || c == '=') ? char(c) : '-';
  return out.substr(0, max);
}

std::string folder_name(size_t index, size_t count, const std::vector<std::string>& names, const std::vector<std::string>& values) {
  std::string id = std::to_string(index);
  id = std::string(std::to_string(count).size() - id.size(), '0') + id;  // 01..36 list in grid order
  std::string name = id;
  for (size_t i = 0; i < names.size(); ++i) name += "_" + sanitise(names[i], 24) + "=" + sanitise(values[i], 16);
  return name.substr(0, 120);
}

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw Error(path + ": cannot open the graph file");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool descending(size_t sort) { return kSorts[sort].find("accuracy") != std::string::npos; }

// Trains one point; an Error from the Session is the point's failure, not the sweep's.
void train_point(Row& r, const std::string& graph_file, const Registry& registry, const SweepOptions& opt, size_t sort) {
  const auto start = std::chrono::steady_clock::now();
  try {
    SessionOptions so;
    so.out_dir = fs::path(graph_file).parent_path().string();
    so.seed = opt.seed;
    so.progress = !opt.quiet;
    Session s(graph_file, registry, so);
    set_threads(opt.threads > 0 ? opt.threads : s.spec().train.threads);
    const std::vector<EpochRecord> records = s.train();
    if (records.empty()) throw Error("no epoch was trained (train.epochs is 0)");
    const EpochRecord& last = records.back();
    r.ok = true;
    r.has_val = last.has_validation;
    r.figure[0] = r.has_val ? last.val_loss : NAN;
    r.figure[1] = r.has_val ? last.val_accuracy : NAN;
    r.figure[2] = last.loss;
    r.figure[3] = last.accuracy;
    double best = descending(sort) ? -INFINITY : INFINITY;
    for (const EpochRecord& e : records) {
      const double v[4] = {e.val_loss, e.val_accuracy, e.loss, e.accuracy};
      if (descending(sort) ? v[sort] > best : v[sort] < best) best = v[sort], r.best_epoch = e.epoch;
      if (r.has_val) {
        r.best_val_loss = std::isnan(r.best_val_loss) ? e.val_loss : std::min(r.best_val_loss, e.val_loss);
        r.best_val_accuracy = std::isnan(r.best_val_accuracy) ? e.val_accuracy : std::max(r.best_val_accuracy, e.val_accuracy);
      }
    }
  } catch (const Error& e) {
    r.message = e.what();
  } catch (const dnnl::error& e) {
    r.message = std::string("oneDNN error: ") + e.what();
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string number(double v, const char* format) {
  if (std::isnan(v)) return "";
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::vector<std::string> header(const std::vector<Axis>& axes) {
  std::vector<std::string> h = {"run"};
  for (const Axis& a : axes) h.push_back(a.key);
  for (const char* c : {"val_loss", "val_accuracy", "loss", "accuracy", "best_val_loss", "best_val_accuracy", "best_epoch", "seconds", "status"})
    h.push_back(c);
  return h;
}

// `precise` keeps six significant digits (the CSV), else four decimals (the table).
std::vector<std::string> cells(const Row& r, bool precise) {
  const char* f = precise ? "%.6g" : "%.4f";
  std::vector<std::string> c = {r.run};
  c.insert(c.end(), r.values.begin(), r.values.end());
  for (double v : r.figure) c.push_back(number(v, f));
  c.push_back(number(r.best_val_loss, f));
  c.push_back(number(r.best_val_accuracy, f));
  c.push_back(r.ok ? std::to_string(r.best_epoch) : "");
  c.push_back(number(r.seconds, precise ? "%.3f" : "%.1f"));
  c.push_back(r.ok ? "ok" : "failed: " + r.message);
  return c;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string markdown(const std::vector<Axis>& axes, const std::vector<Row>& rows) {
  auto line = [](const std::vector<std::string>& c) {
    std::string s = "|";
    for (std::string v : c) {
      for (size_t p = 0; (p = v.find_first_of("|\n", p)) != std::string::npos; p += 2) v.replace(p, 1, v[p] == '|' ? "\\|" : " ");
      s += " " + v + " |";
    }
    return s + "\n";
  };
  const std::vector<std::string> h = header(axes);
  std::string out = line(h) + "|";
  for (size_t i = 0; i < h.size(); ++i) out += "---|";
  out += "\n";
  for (const Row& r : rows) out += line(cells(r, false));
  return out;
}

// Rewritten after every point, so a long sweep that is stopped keeps what it finished.
std::string write_results(const std::string& out, const std::vector<Axis>& axes, std::vector<Row> rows, size_t sort) {
  std::stable_sort(rows.begin(), rows.end(), [&](const Row& a, const Row& b) {
    const double x = a.figure[sort], y = b.figure[sort];
    if (a.ok != b.ok) return a.ok;         // failed points last, in grid order
    if (std::isnan(x) || std::isnan(y)) return !std::isnan(x) && std::isnan(y);
    return descending(sort) ? x > y : x < y;
  });
  std::ofstream csv(out + "/results.csv");
  const std::vector<std::string> h = header(axes);
  for (size_t i = 0; i < h.size(); ++i) csv << (i ? "," : "") << csv_field(h[i]);
  csv << "\n";
  for (const Row& r : rows) {
    const std::vector<std::string> c = cells(r, true);
    for (size_t i = 0; i < c.size(); ++i) csv << (i ? "," : "") << csv_field(c[i]);
    csv << "\n";
  }
  const std::string table = markdown(axes, rows);
  std::ofstream(out + "/results.md") << table;
  return table;
}

}  // namespace

CLI::App* add_sweep(CLI::App& app, SweepOptions& opt) {
  CLI::App* cmd = app.add_subcommand("sweep", "train a graph at every point of a grid of key values and tabulate the results");
  cmd->add_option("graph", opt.graph, "graph file (YAML)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--grid", opt.grid, "KEY=V1,V2,...: a dotted key of the graph (train.epochs, towers.encoder.1.rate) and its values; repeat per key")
      ->required()
      ->allow_extra_args(false);
  cmd->add_option("--out", opt.out, "sweep folder (default runs/<graph name>_sweep)");
  cmd->add_option("--threads", opt.threads, "compute threads (default: train.threads, else all cores)");
  cmd->add_option("--seed", opt.seed, "seed for every point (overrides train.seed)");
  cmd->add_option("--sort", opt.sort, "figure to sort by (default val_loss with a validation split, else loss)")->check(CLI::IsMember(kSorts));
  cmd->add_flag("--quiet", opt.quiet, "no per-epoch progress (the lines per point stay)");
  return cmd;
}

int sweep(const SweepOptions& opt) {
  const std::vector<Axis> axes = parse_grid(opt.grid);
  const GraphSpec spec = load_graph_spec(opt.graph);  // a broken graph fails before any point
  const bool has_val = spec.data.validation.present;
  const std::string sort_name = opt.sort.empty() ? (has_val ? "val_loss" : "loss") : opt.sort;
  if (sort_name.rfind("val_", 0) == 0 && !has_val)
    throw Error("--sort " + sort_name + ": " + opt.graph + " has no validation split (data.validation)");
  const size_t sort = std::find(kSorts.begin(), kSorts.end(), sort_name) - kSorts.begin();

  // Every point's graph text first: a bad key fails the sweep before anything is trained.
  size_t count = 1;
  for (const Axis& a : axes) count *= a.values.size();
  const std::string text = read_text(opt.graph), graph_dir = fs::path(opt.graph).parent_path().string();
  const std::vector<std::string> names = short_keys(axes);
  std::vector<Row> rows(count);
  std::vector<std::string> texts(count);
  for (size_t i = 0; i < count; ++i) {
    std::vector<Override> overrides;
    for (size_t a = axes.size(), rest = i; a-- > 0; rest /= axes[a].values.size())  // the first key varies slowest
      overrides.insert(overrides.begin(), {axes[a].key, axes[a].values[rest % axes[a].values.size()]});
    for (const Override& o : overrides) rows[i].values.push_back(o.value);
    rows[i].run = folder_name(i + 1, count, names, rows[i].values);
    texts[i] = anchor_paths(apply_overrides(text, overrides, opt.graph), graph_dir, opt.graph);
  }

  const std::string out = opt.out.empty() ? "runs/" + spec.name + "_sweep" : opt.out;
  PluginLoader loader;
  loader.load_default();
  std::string table;
  size_t failed = 0;
  for (size_t i = 0; i < count; ++i) {
    Row& r = rows[i];
    std::string point;
    for (size_t a = 0; a < axes.size(); ++a) point += (a ? " " : "") + axes[a].key + "=" + r.values[a];
    std::fprintf(stderr, "sweep %zu/%zu: %s\n", i + 1, count, point.c_str());
    const std::string dir = out + "/" + r.run;
    fs::create_directories(dir);
    std::ofstream(dir + "/graph.yaml") << "# " << opt.graph << " with " << point << " (graphrun sweep)\n" << texts[i];
    train_point(r, dir + "/graph.yaml", loader.registry(), opt, sort);
    if (r.ok)
      std::fprintf(stderr, "sweep %zu/%zu: done in %.1f s: %s %.4f (best at epoch %lld) in %s\n", i + 1, count, r.seconds,
                   kSorts[sort].c_str(), r.figure[sort], static_cast<long long>(r.best_epoch), dir.c_str());
    else
      std::fprintf(stderr, "sweep %zu/%zu: failed: %s\n", i + 1, count, r.message.c_str()), ++failed;
    table = write_results(out, axes, rows, sort);
  }
  std::printf("%s\nresults: %s/results.csv, %s/results.md (sorted by %s)\n", table.c_str(), out.c_str(), out.c_str(), kSorts[sort].c_str());
  if (failed) std::fprintf(stderr, "graphrun: %zu of %zu points failed (see the status column)\n", failed, count);
  return failed == count ? 1 : 0;
}

}  // namespace graphrun::cli
