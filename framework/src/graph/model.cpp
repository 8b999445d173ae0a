#include "graph/model.hpp"

#include "graph/loss_inputs.hpp"

#include "exec/memory_check.hpp"
#include "graph/infer_checks.hpp"
#include "graph/initializers.hpp"

#include <graphrun/error.hpp>

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/topological_sort.hpp>

#include <algorithm>
#include <functional>
#include <set>

namespace graphrun {
namespace {

std::string list(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

NodeDef from_layer(const LayerSpec& l, const std::string& name, const std::string& prefix, bool trainable) {
  NodeDef d;
  d.name = name;
  d.op = l.op;
  d.param_prefix = prefix;
  d.input_names = l.inputs;
  d.attrs = Attributes(name);
  for (const auto& [k, v] : l.attrs.all()) d.attrs.set(k, v);
  d.trainable = trainable && l.trainable;
  d.where = l.where;
  d.weights_file = l.weights_file;
  d.weights_prefix = l.weights_prefix;
  return d;
}

}  // namespace

Model::Model(GraphSpec spec, const Registry& registry, const dnnl::engine& engine)
    : spec_(std::move(spec)), registry_(registry), engine_(engine) {
  expand();
  order();
  infer_shapes();
  create_params();
}

int Model::find(const std::string& name) const {
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i].name == name) return static_cast<int>(i);
  auto a = use_outputs_.find(name);  // a tower use stands for its last node
  return a == use_outputs_.end() || a->second == name ? -1 : find(a->second);
}

std::vector<int> Model::graph_inputs() const {
  std::vector<int> ids;
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (!nodes_[i].feed.empty()) ids.push_back(static_cast<int>(i));
  return ids;
}

bool Model::has_trainable_params() const {
  return std::any_of(params_.begin(), params_.end(), [](const Parameter& p) { return p.trainable; });
}

// Graph inputs become input nodes; each use of a tower becomes a chain of its own nodes
// whose parameter prefix is the tower's, so every use shares the same tensors.
void Model::expand() {
  std::set<std::string> names;
  auto add = [&](NodeDef d) {
    if (!names.insert(d.name).second) throw Error(d.where + ": node '" + d.name + "' is defined twice");
    nodes_.push_back(std::move(d));
  };
  for (const auto& in : spec_.inputs) {
    NodeDef d;
    d.name = in.name;
    d.op = "input";
    d.attrs = Attributes(in.name);
    Attributes::Value shape;
    shape.is_list = true;
    shape.where = in.where;
    for (auto v : in.shape) shape.items.push_back(std::to_string(v));
    d.attrs.set("shape", shape);
    d.trainable = false;
    d.where = in.where;
    d.feed = in.feed;
    add(std::move(d));
  }
  std::map<std::string, std::string> alias;  // tower-use name -> its last node
  std::map<std::string, std::vector<const LayerSpec*>> uses;  // tower -> its uses, in order
  for (const auto& l : spec_.nodes)
    if (!l.tower.empty()) uses[l.tower].push_back(&l);
  for (const auto& l : spec_.nodes) {
    if (l.tower.empty()) {
      add(from_layer(l, l.name, l.name, true));
      continue;
    }
    auto t = spec_.towers.find(l.tower);
    if (t == spec_.towers.end()) {
      std::vector<std::string> known;
      for (const auto& [n, _] : spec_.towers) known.push_back(n);
      throw Error(l.where + ": node '" + l.name + "' uses tower '" + l.tower + "', which is not defined (towers: " +
                  (known.empty() ? "none" : list(known)) + ")");
    }
    if (l.inputs.size() != 1) throw Error(l.where + ": node '" + l.name + "': a tower use takes exactly one 'input'");
    const TowerSpec& tower = t->second;
    auto with_weights = [&](NodeDef d) {
      if (d.weights_file.empty()) d.weights_file = tower.weights_file, d.weights_prefix = tower.weights_prefix;
      if (!l.weights_file.empty()) d.weights_file = l.weights_file, d.weights_prefix = l.weights_prefix;
      return d;
    };
    const auto& group = uses[l.tower];
    if (can_batch(tower, group)) {
      if (group.front() != &l) continue;  // emitted with the first use
      // One chain on the stacked inputs of every use, then one slice per use.
      std::vector<std::string> use_names, inputs;
      for (const LayerSpec* u : group) use_names.push_back(u->name), inputs.push_back(u->inputs[0]);
      std::string joined;
      for (const auto& n : use_names) joined += (joined.empty() ? "" : "+") + n;
      NodeDef stack;
      stack.name = joined;
      stack.op = "stack";
      stack.role = NodeDef::Role::stack;
      stack.attrs = Attributes(joined);
      stack.input_names = inputs;
      stack.where = l.where;
      stack.batch_factor = int64_t(group.size());
      add(std::move(stack));
      std::string prev = joined;
      for (const auto& layer : tower.layers) {
        NodeDef d = with_weights(from_layer(layer, joined + "/" + layer.name, l.tower + "/" + layer.name,
                                            tower.trainable && l.trainable));
        d.input_names = {prev};
        d.batch_factor = int64_t(group.size());
        prev = d.name;
        add(std::move(d));
      }
      for (size_t i = 0; i < group.size(); ++i) {
        NodeDef split;
        split.name = group[i]->name;
        split.op = "split";
        split.role = NodeDef::Role::split;
        split.attrs = Attributes(split.name);
        split.input_names = {prev};
        split.where = group[i]->where;
        split.part = int(i);
        add(std::move(split));
      }
      continue;
    }
    std::string prev = l.inputs[0];
    for (const auto& layer : tower.layers) {
      NodeDef d = with_weights(from_layer(layer, l.name + "/" + layer.name, l.tower + "/" + layer.name,
                                          tower.trainable && l.trainable));
      d.input_names = {prev};
      prev = d.name;
      add(std::move(d));
    }
    alias[l.name] = prev;
    if (!names.insert(l.name).second) throw Error(l.where + ": node '" + l.name + "' is defined twice");
  }
  std::map<std::string, int> index;
  for (size_t i = 0; i < nodes_.size(); ++i) index[nodes_[i].name] = static_cast<int>(i);
  auto resolve = [&](const std::string& name) {
    auto a = alias.find(name);
    auto it = index.find(a == alias.end() ? name : a->second);
    return it == index.end() ? -1 : it->second;
  };
  for (auto& d : nodes_) {
    for (const auto& in : d.input_names) {
      int id = resolve(in);
      if (id < 0) {
        std::vector<std::string> known;
        for (const auto& i : spec_.inputs) known.push_back(i.name);
        for (const auto& l : spec_.nodes) known.push_back(l.name);
        throw Error(d.where + ": node '" + d.name + "': input '" + in + "' does not exist (inputs and nodes: " + list(known) + ")");
      }
      d.inputs.push_back(id);
    }
  }
  use_outputs_ = alias;
  output_ = resolve(spec_.output);
  if (output_ < 0) throw Error(spec_.file + ": output '" + spec_.output + "' is not a node of the graph");
  if (!spec_.loss.empty()) {
    loss_ = resolve(spec_.loss);
    if (loss_ < 0) throw Error(spec_.file + ": loss '" + spec_.loss + "' is not a node of the graph");
  }
}

// All uses of a tower run as one batch when that computes the same: each use reads a
// graph input of the same shape, with the same trainability and weights, and no layer
// mixes samples across uses (batch_norm in training keeps its statistics per use).
bool Model::can_batch(const TowerSpec& tower, const std::vector<const LayerSpec*>& uses) const {
  if (!tower.batch_uses || uses.size() < 2) return false;
  const InputSpec* first = nullptr;
  for (const LayerSpec* u : uses) {
    if (u->inputs.size() != 1) return false;
    auto in = std::find_if(spec_.inputs.begin(), spec_.inputs.end(), [&](const InputSpec& i) { return i.name == u->inputs[0]; });
    if (in == spec_.inputs.end()) return false;
    if (!first) first = &*in;
    if (in->shape != first->shape || u->trainable != uses[0]->trainable || u->weights_file != uses[0]->weights_file ||
        u->weights_prefix != uses[0]->weights_prefix)
      return false;
  }
  for (const auto& layer : tower.layers) {
    const OpInfo* info = registry_.find(layer.op);
    if (!info) return false;  // reported when shapes are inferred
    const bool frozen = !(tower.trainable && layer.trainable && uses[0]->trainable);
    if (info->batch_mixing == BatchMixing::always) return false;
    if (info->batch_mixing == BatchMixing::in_training && !frozen && !info->batch_groups) return false;
  }
  return true;
}

// Boost.Graph topological sort; a cycle is reported with the nodes on it. Edges point
// from a node to its inputs, so the sort's finishing order is an execution order that
// keeps the declaration order among independent branches (tower use `a` before `b`, as
// Keras runs them; it matters for the moving statistics of a shared batch_norm).
void Model::order() {
  using G = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS>;
  G g(nodes_.size());
  for (size_t i = 0; i < nodes_.size(); ++i)
    for (int in : nodes_[i].inputs) boost::add_edge(i, in, g);
  std::vector<size_t> execution;
  try {
    boost::topological_sort(g, std::back_inserter(execution));
  } catch (const boost::not_a_dag&) {
    std::vector<int> state(nodes_.size(), 0), stack;
    std::vector<std::string> cycle;
    std::function<bool(int)> dfs = [&](int v) {
      state[v] = 1;
      stack.push_back(v);
      for (int in : nodes_[v].inputs) {
        if (state[in] == 1) {
          auto it = std::find(stack.begin(), stack.end(), in);
          for (; it != stack.end(); ++it) cycle.push_back(nodes_[*it].name);
          cycle.push_back(nodes_[in].name);
          return true;
        }
        if (state[in] == 0 && dfs(in)) return true;
      }
      state[v] = 2;
      stack.pop_back();
      return false;
    };
    for (size_t v = 0; v < nodes_.size() && cycle.empty(); ++v)
      if (state[v] == 0) dfs(static_cast<int>(v));
    std::string path;
    for (auto it = cycle.rbegin(); it != cycle.rend(); ++it) path += (path.empty() ? "" : " -> ") + *it;
    throw Error(spec_.file + ": the graph has a cycle: " + path);
  }
  std::vector<int> position(nodes_.size());
  std::vector<NodeDef> sorted;
  for (size_t v : execution) {
    position[v] = static_cast<int>(sorted.size());
    sorted.push_back(std::move(nodes_[v]));
  }
  for (auto& d : sorted)
    for (int& in : d.inputs) in = position[in];
  output_ = position[output_];
  if (loss_ >= 0) loss_ = position[loss_];
  nodes_ = std::move(sorted);
}

void Model::infer_shapes() {
  for (auto& d : nodes_) {
    if (d.role != NodeDef::Role::op) {  // stack and split keep the per-sample shape
      for (int in : d.inputs) d.input_shapes.push_back(nodes_[in].shape);
      d.shape = d.input_shapes.at(0);
      for (const Shape& s : d.input_shapes)
        if (s != d.shape) throw Error(d.where + ": node '" + d.name + "': the uses of a tower read inputs of different shapes");
      continue;
    }
    d.info = registry_.find(d.op);
    if (!d.info) {
      std::string known;
      for (const auto& [name, _] : registry_.ops()) known += (known.empty() ? "" : ", ") + name;
      throw Error(d.where + ": node '" + d.name + "': unknown op '" + d.op + "' (did you mean '" +
                  registry_.nearest(d.op) + "'? known ops: " + known + ")");
    }
    const int n = static_cast<int>(d.inputs.size());
    if (n < d.info->min_inputs || (d.info->max_inputs >= 0 && n > d.info->max_inputs)) {
      std::string expected = d.info->min_inputs == d.info->max_inputs ? std::to_string(d.info->min_inputs)
                             : d.info->max_inputs < 0 ? "at least " + std::to_string(d.info->min_inputs)
                             : std::to_string(d.info->min_inputs) + " to " + std::to_string(d.info->max_inputs);
      throw Error(d.where + ": node '" + d.name + "' (" + d.op + ") takes " + expected + " input(s), got " + std::to_string(n));
    }
    if (d.info->is_loss) check_loss_inputs(nodes_, d);
    std::set<std::string> allowed;
    for (const auto& a : d.info->attrs) allowed.insert(a.name);
    for (const auto& [k, v] : d.attrs.all()) {
      if (!allowed.count(k)) {
        std::vector<std::string> names(allowed.begin(), allowed.end());
        throw Error((v.where.empty() ? d.where : v.where) + ": node '" + d.name + "' (" + d.op + "): unknown attribute '" + k +
                    "' (" + d.op + " takes: " + (names.empty() ? "no attributes" : list(names)) + ")");
      }
    }
    for (int in : d.inputs) d.input_shapes.push_back(nodes_[in].shape);
    std::unique_ptr<Node> node;
    try {
      node = d.info->make(d.attrs);
      d.shape = node->infer(d.input_shapes);
      d.specs = node->params(d.input_shapes);
      check_inferred(*d.info, d.input_shapes, d.shape, d.specs);
    } catch (const Error& e) {
      std::string inputs;
      for (size_t i = 0; i < d.inputs.size(); ++i)
        inputs += (i ? ", " : "") + nodes_[d.inputs[i]].name + " " + to_string(nodes_[d.inputs[i]].shape);
      throw Error(d.where + ": node '" + d.name + "' (" + d.op + ")" + (inputs.empty() ? "" : " with inputs " + inputs) +
                  ": " + e.what());
    }
  }
}

}  // namespace graphrun
