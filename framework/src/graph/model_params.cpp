// Model: its parameters (created from the nodes' specs, shared by tower uses), their
// initial values and their layout.
#include "graph/model.hpp"

#include "exec/memory_check.hpp"
#include "graph/initializers.hpp"

#include <graphrun/error.hpp>

#include <algorithm>

namespace graphrun {
namespace {

uint64_t hash_name(const std::string& s, uint64_t seed) {  // FNV-1a, stable across platforms
  uint64_t h = 1469598103934665603ull ^ (seed * 0x9E3779B97F4A7C15ull);
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace

void Model::create_params() {
  check_param_memory(nodes_, spec_.file);
  for (auto& d : nodes_) {
    for (const auto& s : d.specs) {
      const std::string name = d.param_prefix + "/" + s.name;
      auto it = param_index_.find(name);
      if (it != param_index_.end()) {  // a shared tower: same tensor, checked shape
        Parameter& p = params_[it->second];
        if (p.spec.dims != s.dims)
          throw Error(d.where + ": node '" + d.name + "' shares parameter '" + name + "' of shape " + to_string(p.spec.dims) +
                      " but needs shape " + to_string(s.dims) + " (its inputs differ between uses of the tower)");
        p.trainable = p.trainable && d.trainable;
        p.uses++;
        d.params.push_back(it->second);
        continue;
      }
      Parameter p;
      p.name = name;
      p.spec = s;
      p.trainable = d.trainable && s.kind == ParamSpec::Kind::weight;
      p.init = d.attrs.text(s.name + "_initializer", s.default_init);
      try {
        check_initializer(p.init);
      } catch (const Error& e) {
        throw Error(d.where + ": node '" + d.name + "': " + e.what());
      }
      p.l2 = d.attrs.number(s.name + "_l2", 0.0);
      p.value = Tensor(plain_desc(s.dims), engine_);
      p.uses = 1;
      param_index_[name] = static_cast<int>(params_.size());
      d.params.push_back(static_cast<int>(params_.size()));
      params_.push_back(std::move(p));
    }
  }
  for (auto& p : params_)
    if (p.trainable) p.grad = Tensor(plain_desc(p.spec.dims), engine_);
}

void Model::initialize(uint64_t seed) {
  for (auto& p : params_) {
    if (is_plain(p.value.desc())) {
      graphrun::initialize(p.value, p.init, p.spec, hash_name(p.name, seed));
      continue;
    }
    Tensor plain(plain_desc(p.spec.dims), engine_);  // initialisers write row-major values
    graphrun::initialize(plain, p.init, p.spec, hash_name(p.name, seed));
    p.value.set_plain_values(plain.data());
  }
}

DerivedStore& Model::derived(int node) {
  const NodeDef& d = nodes_.at(size_t(node));
  // A node without parameters derives nothing from them: a store of its own.
  const std::vector<int> key = d.params.empty() ? std::vector<int>{-1 - node} : d.params;
  auto& store = derived_[key];
  if (!store) store = std::make_unique<DerivedStore>(engine_);
  return *store;
}

void relayout(Parameter& p, const dnnl::memory::desc& desc) {
  if (desc == p.value.desc()) return;
  if (desc.dims() != p.value.desc().dims())
    throw Error("internal: parameter '" + p.name + "' re-laid with other dimensions");
  const std::vector<float> values = p.value.plain_values();
  const dnnl::engine engine = p.value.memory().get_engine();
  p.value = Tensor(desc, engine);
  p.value.set_plain_values(values.data());
  if (!p.grad.empty()) p.grad = Tensor(desc, engine);
}

}  // namespace graphrun
