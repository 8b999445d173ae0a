// Session: saving and loading parameters and optimizer state.
#include "train/session.hpp"

#include "io/checkpoint.hpp"
#include "train/checks.hpp"

#include <graphrun/error.hpp>

#include <map>

namespace graphrun {

Checkpoint Session::weights_checkpoint() const {
  Checkpoint c;
  for (const auto& p : model_->params()) {  // batch-norm statistics too: parameters of kind state
    c.tensors[p.name] = StoredTensor{p.spec.dims, p.value.plain_values()};
  }
  for (auto& [name, values] : optimizer_->state(model_->params()))
    c.tensors["__optimizer__/" + name] = StoredTensor{{int64_t(values.size())}, std::move(values)};
  c.metadata = {{"format", "graphrun-checkpoint-1"}, {"graph", model_->spec().name}, {"graph_hash", graph_hash_},
                {"step", std::to_string(step_)}, {"optimizer_iterations", std::to_string(optimizer_->iterations())},
                {"seed", std::to_string(seed_)}};
  return c;
}

void Session::save_weights(const std::string& path) { write_checkpoint(path, weights_checkpoint()); }

namespace {

void copy_into(Tensor& dst, const Shape& dims, const StoredTensor& src, const std::string& what, const std::string& file) {
  if (src.shape != dims)
    throw Error(file + ": tensor '" + what + "' has shape " + to_string(src.shape) + " but the graph needs " + to_string(dims));
  dst.set_plain_values(src.values.data());
}

}  // namespace

void Session::load_weights(const std::string& path, bool from_other_graph) {
  Checkpoint c = read_checkpoint(path);
  check_checkpoint_graph(c, path, model_->spec().name, from_other_graph);
  load_tensors(c, path);
}

void Session::load_tensors(const Checkpoint& c, const std::string& path) {
  for (auto& p : model_->params()) {
    auto it = c.tensors.find(p.name);
    if (it == c.tensors.end()) throw Error(path + ": the checkpoint has no tensor '" + p.name + "' (" + to_string(p.spec.dims) + ")");
    copy_into(p.value, p.spec.dims, it->second, p.name, path);
  }
  for (const auto& [name, values] : optimizer_->state(model_->params())) {
    auto it = c.tensors.find("__optimizer__/" + name);
    if (it != c.tensors.end()) optimizer_->set_state(model_->params(), name, it->second.values);
  }
  auto iters = c.metadata.find("optimizer_iterations");
  if (iters != c.metadata.end()) optimizer_->set_iterations(std::stoll(iters->second));
  auto step = c.metadata.find("step");
  if (step != c.metadata.end()) step_ = std::stoll(step->second);
}

// Nodes and towers with `weights: FILE` take their parameters from another graph's
// checkpoint: tower parameters by their name inside the tower ("conv1/kernel"), under
// weights_prefix when one is given.
void Session::load_node_weights() {
  std::map<std::string, Checkpoint> files;
  for (const auto& d : model_->nodes()) {
    if (d.weights_file.empty()) continue;
    if (!files.count(d.weights_file)) files[d.weights_file] = read_checkpoint(d.weights_file);
    const Checkpoint& c = files[d.weights_file];
    for (size_t k = 0; k < d.params.size(); ++k) {
      Parameter& p = model_->params()[d.params[k]];
      std::string local = p.name;
      if (d.name != d.param_prefix && local.find('/') != std::string::npos) local = local.substr(local.find('/') + 1);
      const std::string lookup = d.weights_prefix.empty() ? local : d.weights_prefix + "/" + local;
      auto it = c.tensors.find(lookup);
      if (it == c.tensors.end())
        throw Error(d.where + ": node '" + d.name + "': " + d.weights_file + " has no tensor '" + lookup + "' (" +
                    to_string(p.spec.dims) + ")");
      copy_into(p.value, p.spec.dims, it->second, lookup, d.weights_file);
    }
  }
}

}  // namespace graphrun
