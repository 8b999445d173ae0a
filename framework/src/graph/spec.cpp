#include "graph/spec.hpp"

#include "graph/yaml_context.hpp"
#include "graph/yaml_checks.hpp"
#include "train/optimizer.hpp"
#include "train/threads.hpp"

#include <graphrun/error.hpp>

#include <yaml-cpp/yaml.h>

#include <set>

namespace graphrun {
namespace {

Shape parse_shape(const Ctx& c, const YAML::Node& n, const std::string& what) {
  if (!n || !n.IsSequence() || n.size() == 0) c.fail(n ? n : YAML::Node(), what + ": 'shape' must be a list such as [784]");
  Shape s;
  for (const auto& d : n) {
    int64_t v = 0;
    try {
      v = d.as<int64_t>();
    } catch (const YAML::Exception&) {
      c.fail(d, what + ": shape entries must be positive integers");
    }
    if (v <= 0) c.fail(d, what + ": shape entries must be positive integers");
    s.push_back(v);
  }
  return s;
}

Attributes::Value attr_value(const Ctx& c, const YAML::Node& v, const std::string& what) {
  Attributes::Value out;
  out.where = c.at(v);
  if (v.IsScalar()) {
    out.items = {v.Scalar()};
  } else if (v.IsSequence()) {
    out.is_list = true;
    for (const auto& item : v) {
      if (!item.IsScalar()) c.fail(item, what + ": list attributes hold plain values");
      out.items.push_back(item.Scalar());
    }
  } else {
    c.fail(v, what + ": attribute values are numbers, words or lists");
  }
  return out;
}

const std::set<std::string> kReservedNodeKeys = {"op", "input", "inputs", "tower", "trainable", "weights", "weights_prefix", "name"};

LayerSpec parse_layer(const Ctx& c, const YAML::Node& n, const std::string& name, const std::string& what) {
  if (!n.IsMap()) c.fail(n, what + " must be a map such as {op: dense, units: 128}");
  LayerSpec l;
  l.name = name;
  l.where = c.at(n);
  l.attrs = Attributes(name);
  if (n["tower"]) {
    l.tower = c.scalar(n, "tower", what);
    if (n["op"]) c.fail(n["op"], what + ": a node is either a tower use or an op, not both");
  } else {
    l.op = c.scalar(n, "op", what);
  }
  if (n["input"] && n["inputs"]) c.fail(n, what + ": give 'input' or 'inputs', not both");
  if (n["input"]) l.inputs.push_back(c.scalar(n, "input", what));
  if (n["inputs"]) {
    const YAML::Node ins = n["inputs"];
    if (!ins.IsSequence()) c.fail(ins, what + ": 'inputs' must be a list of node names");
    for (const auto& i : ins) {
      if (!i.IsScalar()) c.fail(i, what + ": 'inputs' must be a list of node names");
      l.inputs.push_back(i.Scalar());
    }
  }
  l.trainable = c.value<bool>(n, "trainable", true, what);
  if (n["weights"]) l.weights_file = c.scalar(n, "weights", what);
  if (n["weights_prefix"]) l.weights_prefix = c.scalar(n, "weights_prefix", what);
  for (const auto& kv : n) {
    const std::string k = kv.first.Scalar();
    if (!kReservedNodeKeys.count(k)) l.attrs.set(k, attr_value(c, kv.second, what + " attribute '" + k + "'"));
  }
  return l;
}

// Early stopping, ReduceLROnPlateau and the wall-clock budget.
void parse_callbacks(const Ctx& c, const YAML::Node& n, TrainSpec& t) {
  static const std::set<std::string> kMonitors = {"loss", "accuracy", "val_loss", "val_accuracy", "val_auc", "val_eer", "val_oneshot"};
  auto monitor = [&](const YAML::Node& m, const std::string& what) {
    std::string v = c.value<std::string>(m, "monitor", "val_loss", what);
    if (!kMonitors.count(v))
      c.fail(m["monitor"], what + ": monitor '" + v + "' is not a figure graphrun records (loss, accuracy, val_loss, val_accuracy, val_auc, val_eer, val_oneshot)");
    return v;
  };
  if (const YAML::Node e = n["early_stopping"]) {
    c.only_keys(e, {"monitor", "min_delta", "patience", "restore_best"}, "train.early_stopping");
    t.early_stopping.present = true;
    t.early_stopping.monitor = monitor(e, "train.early_stopping");
    t.early_stopping.min_delta = c.value<double>(e, "min_delta", 0, "train.early_stopping");
    t.early_stopping.patience = c.value<int64_t>(e, "patience", 0, "train.early_stopping");
    t.early_stopping.restore_best = c.value<bool>(e, "restore_best", true, "train.early_stopping");
    if (t.early_stopping.patience < 0 || !(t.early_stopping.min_delta >= 0))
      c.fail(e, "train.early_stopping: patience and min_delta must not be negative");
  }
  if (const YAML::Node r = n["reduce_lr_on_plateau"]) {
    const std::string what = "train.reduce_lr_on_plateau";
    c.only_keys(r, {"monitor", "factor", "patience", "min_delta", "cooldown", "min_lr"}, what);
    PlateauSpec& p = t.reduce_lr_on_plateau;
    p.present = true;
    p.monitor = monitor(r, what);
    p.factor = c.value<double>(r, "factor", 0.1, what);
    p.patience = c.value<int64_t>(r, "patience", 10, what);
    p.min_delta = c.value<double>(r, "min_delta", 1e-4, what);
    p.cooldown = c.value<int64_t>(r, "cooldown", 0, what);
    p.min_lr = c.value<double>(r, "min_lr", 0, what);
    if (!(p.factor > 0 && p.factor < 1)) c.fail(r["factor"], what + ": factor must be in (0, 1)");
    if (p.patience < 0 || p.cooldown < 0 || p.min_lr < 0) c.fail(r, what + ": patience, cooldown and min_lr must not be negative");
  }
  t.max_minutes = c.value<double>(n, "max_minutes", 0, "train");
  if (!(t.max_minutes >= 0)) c.fail(n["max_minutes"], "train: max_minutes must not be negative");
}

// With the key's position: make_optimizer checks the same but knows no file.
void check_optimizer_setting(const Ctx& c, const std::string& name, const std::string& key, double v, const YAML::Node& at) {
  const std::string e = optimizer_setting_error(name, key, v);
  if (!e.empty()) c.fail(at, "train.optimizer: " + e);
}

TrainSpec parse_train(const Ctx& c, const YAML::Node& n) {
  TrainSpec t;
  if (!n) return t;
  c.only_keys(n, {"optimizer", "batch_size", "epochs", "steps_per_epoch", "eval_batch_size", "seed", "threads", "schedule",
                 "early_stopping", "reduce_lr_on_plateau", "max_minutes", "checkpoint_every_steps", "precision"}, "train");
  t.where = c.at(n);
  if (const YAML::Node o = n["optimizer"]) {
    if (o.IsScalar()) {
      t.optimizer = o.Scalar();
      check_optimizer_setting(c, t.optimizer, "", 0, o);
    } else {
      if (!o.IsMap()) c.fail(o, "train.optimizer must be a name or a map such as {name: rmsprop, learning_rate: 0.001}");
      t.optimizer = c.scalar(o, "name", "train.optimizer");
      check_optimizer_setting(c, t.optimizer, "", 0, o["name"]);
      for (const auto& kv : o) {
        const std::string k = kv.first.Scalar();
        if (k == "name") continue;
        try {
          t.optimizer_args[k] = kv.second.as<double>();
        } catch (const YAML::Exception&) {
          c.fail(kv.second, "train.optimizer: '" + k + "' must be a number");
        }
        check_optimizer_setting(c, t.optimizer, k, t.optimizer_args[k], kv.second);
      }
    }
  }
  t.batch_size = c.value<int64_t>(n, "batch_size", 32, "train");
  t.epochs = c.value<int64_t>(n, "epochs", 1, "train");
  t.steps_per_epoch = c.value<int64_t>(n, "steps_per_epoch", 0, "train");
  t.eval_batch_size = c.value<int64_t>(n, "eval_batch_size", 0, "train");
  t.seed = c.value<uint64_t>(n, "seed", 0, "train");
  t.threads = c.value<int>(n, "threads", 0, "train");
  if (n["threads"]) check_threads(t.threads, c.at(n["threads"]) + ": train.threads");
  if (const YAML::Node sch = n["schedule"]) {
    c.only_keys(sch, {"name", "min_fraction", "drop", "every", "over"}, "train.schedule");
    t.schedule = c.scalar(sch, "name", "train.schedule");
    if (t.schedule != "constant" && t.schedule != "cosine" && t.schedule != "step")
      c.fail(sch["name"], "train.schedule: name must be constant, cosine or step");
    t.schedule_min = c.value<double>(sch, "min_fraction", 0.0, "train.schedule");
    t.schedule_drop = c.value<double>(sch, "drop", 0.5, "train.schedule");
    t.schedule_every = c.value<int64_t>(sch, "every", 10, "train.schedule");
    if (t.schedule_every <= 0) c.fail(sch["every"], "train.schedule: every must be positive");
    t.schedule_over = c.value<std::string>(sch, "over", "epochs", "train.schedule");
    if (t.schedule_over != "epochs" && t.schedule_over != "time")
      c.fail(sch["over"], "train.schedule: over must be epochs or time (train.max_minutes)");
    if (t.schedule_over == "time" && t.schedule != "cosine")
      c.fail(sch["over"], "train.schedule: over: time is for the cosine schedule");
  }
  parse_callbacks(c, n, t);
  if (t.schedule_over == "time" && !(t.max_minutes > 0))
    c.fail(n["schedule"]["over"], "train.schedule: over: time needs train.max_minutes (the time the schedule runs over)");
  if (t.batch_size <= 0) c.fail(n["batch_size"], "train: batch_size must be positive");
  if (t.epochs < 0) c.fail(n["epochs"], "train: epochs must not be negative");
  if (t.steps_per_epoch < 0 || t.eval_batch_size < 0) c.fail(n, "train: steps_per_epoch and eval_batch_size must not be negative");
  t.precision = c.value<std::string>(n, "precision", "f32", "train");
  if (t.precision != "f32" && t.precision != "bf16")
    c.fail(n["precision"], "train: precision must be f32 or bf16, got '" + t.precision + "'");
  if (n["precision"]) t.precision_where = c.at(n["precision"]);
  t.checkpoint_every_steps = c.value<int64_t>(n, "checkpoint_every_steps", 0, "train");
  if (t.checkpoint_every_steps < 0) c.fail(n["checkpoint_every_steps"], "train: checkpoint_every_steps must not be negative");
  return t;
}

}  // namespace

GraphSpec parse_graph_spec(const std::string& text, const std::string& file_name) {
  Ctx c{file_name};
  check_graph_size(text.size(), file_name);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw Error(file_name + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                ": malformed YAML: " + e.msg);
  }
  check_unique_keys(root, file_name, text.size());
  if (!root.IsMap()) throw Error(file_name + ": a graph file is a YAML map with name, inputs, nodes, output, ...");
  c.only_keys(root, {"name", "inputs", "towers", "nodes", "output", "loss", "data", "evaluation", "train"}, "graph");

  GraphSpec g;
  g.file = file_name;
  g.name = c.scalar(root, "name", "graph");

  const YAML::Node inputs = root["inputs"];
  if (!inputs || !inputs.IsMap() || inputs.size() == 0) c.fail(inputs ? inputs : root, "graph: 'inputs' must map input names to {shape: [...]}");
  for (const auto& kv : inputs) {
    const std::string name = kv.first.Scalar();
    const std::string what = "input '" + name + "'";
    c.only_keys(kv.second, {"shape", "feed", "role"}, what);
    InputSpec in{name, parse_shape(c, kv.second["shape"], what), c.value<std::string>(kv.second, "feed", name, what), c.at(kv.first)};
    g.inputs.push_back(in);
  }

  if (const YAML::Node towers = root["towers"]) {
    if (!towers.IsMap()) c.fail(towers, "graph: 'towers' must map tower names to lists of layers");
    for (const auto& kv : towers) {
      TowerSpec t;
      t.name = kv.first.Scalar();
      t.where = c.at(kv.first);
      YAML::Node layers = kv.second;
      if (layers.IsMap()) {  // {trainable: false, weights: FILE, batch_uses: false, layers: [...]}
        c.only_keys(layers, {"layers", "trainable", "weights", "weights_prefix", "batch_uses"}, "tower '" + t.name + "'");
        t.trainable = c.value<bool>(layers, "trainable", true, "tower '" + t.name + "'");
        t.batch_uses = c.value<bool>(layers, "batch_uses", true, "tower '" + t.name + "'");
        t.weights_file = c.value<std::string>(layers, "weights", "", "tower '" + t.name + "'");
        t.weights_prefix = c.value<std::string>(layers, "weights_prefix", "", "tower '" + t.name + "'");
        if (!kv.second["layers"]) c.fail(kv.first, "tower '" + t.name + "' must be a non-empty list of layers");
        layers.reset(kv.second["layers"]);  // (reset() throws InvalidNode for a missing key)
      }
      if (!layers || !layers.IsSequence() || layers.size() == 0)
        c.fail(kv.first, "tower '" + t.name + "' must be a non-empty list of layers");
      std::map<std::string, int> op_counts;
      for (const auto& layer : layers) {
        if (!layer.IsMap() || !layer["op"]) c.fail(layer, "tower '" + t.name + "': each layer is a map with an 'op'");
        std::string op = layer["op"].Scalar();
        if (layer["name"] && !layer["name"].IsScalar()) c.fail(layer["name"], "tower '" + t.name + "': a layer's 'name' must be a single value");
        std::string lname = layer["name"] ? layer["name"].Scalar() : op + "_" + std::to_string(++op_counts[op]);
        LayerSpec l = parse_layer(c, layer, lname, "tower '" + t.name + "' layer '" + lname + "'");
        if (!l.inputs.empty()) c.fail(layer, "tower '" + t.name + "': layers are chained in order and take no 'input'");
        t.layers.push_back(std::move(l));
      }
      g.towers[t.name] = std::move(t);
    }
  }

  const YAML::Node nodes = root["nodes"];
  if (!nodes || !nodes.IsMap() || nodes.size() == 0) c.fail(nodes ? nodes : root, "graph: 'nodes' must map node names to nodes");
  for (const auto& kv : nodes) {
    const std::string name = kv.first.Scalar();
    g.nodes.push_back(parse_layer(c, kv.second, name, "node '" + name + "'"));
  }
  g.output = c.scalar(root, "output", "graph");
  g.loss = c.value<std::string>(root, "loss", "", "graph");
  g.data = parse_data(c, root["data"]);
  g.evaluation = parse_evaluation(c, root["evaluation"]);
  g.train = parse_train(c, root["train"]);
  return g;
}

GraphSpec load_graph_spec(const std::string& path) {
  return parse_graph_spec(read_graph_file(path), path);
}

}  // namespace graphrun
