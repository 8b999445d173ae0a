#pragma once
// A graph file turned into checked nodes in execution order, with its parameters.
#include "graph/derived_store.hpp"
#include "graph/spec.hpp"

#include <graphrun/node.hpp>
#include <graphrun/registry.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace graphrun {

struct Parameter {
  std::string name;  // "encoder/dense_1/kernel"
  ParamSpec spec;
  Tensor value;
  Tensor grad;       // empty when not trainable
  bool trainable = true;
  double l2 = 0;
  std::string init;
  int uses = 0;      // nodes that use it (shared towers: more than one)
  // Its layout is settled: a plan has bound it or offered it to a node (PlanContext::params).
  bool layout_fixed = false;
};

// Lays the value (and gradient) out in `desc`, keeping the values. Only before any plan
// has bound the parameter: bound primitives keep the old memory.
void relayout(Parameter& p, const dnnl::memory::desc& desc);

struct NodeDef {
  // stack and split are the executor's own: a batched tower's input is its uses' inputs
  // stacked along the batch, and each use's output is a slice of the tower's output.
  enum class Role { op, stack, split };

  std::string name;       // "a/dense_1"
  std::string op;
  std::string param_prefix;  // "encoder/dense_1": every use of a tower shares it
  std::vector<std::string> input_names;
  std::vector<int> inputs;   // indices into Model::nodes
  Attributes attrs;
  bool trainable = true;
  std::string where;
  const OpInfo* info = nullptr;
  Shape shape;               // per-sample output shape
  std::vector<Shape> input_shapes;
  std::vector<ParamSpec> specs;
  std::vector<int> params;   // indices into Model::params
  std::string feed;          // graph inputs: the batch field that fills it
  std::string weights_file, weights_prefix;
  Role role = Role::op;
  int64_t batch_factor = 1;  // runs on this many times the plan's batch (batched towers)
  int part = 0;              // split: which slice of its input
};

class Model {
 public:
  Model(GraphSpec spec, const Registry& registry, const dnnl::engine& engine);

  const GraphSpec& spec() const { return spec_; }
  const Registry& registry() const { return registry_; }
  const dnnl::engine& engine() const { return engine_; }
  const std::vector<NodeDef>& nodes() const { return nodes_; }  // topological order
  std::vector<Parameter>& params() { return params_; }
  const std::vector<Parameter>& params() const { return params_; }
  int output() const { return output_; }
  int loss() const { return loss_; }  // -1 when the graph has no loss (inference only)
  int find(const std::string& name) const;
  std::vector<int> graph_inputs() const;
  bool has_trainable_params() const;

  // Fresh values from every parameter's initialiser (deterministic in seed).
  void initialize(uint64_t seed);
  // What a node derives from its parameters, shared by every plan and by the nodes of every
  // use of a tower (they hold the same parameters): model_params.cpp.
  DerivedStore& derived(int node);

 private:
  void expand();
  bool can_batch(const TowerSpec& tower, const std::vector<const LayerSpec*>& uses) const;
  void order();
  void infer_shapes();
  void create_params();

  GraphSpec spec_;
  const Registry& registry_;
  dnnl::engine engine_;
  std::vector<NodeDef> nodes_;
  std::vector<Parameter> params_;
  std::map<std::string, int> param_index_;
  std::map<std::string, std::string> use_outputs_;  // tower-use name -> its last node
  std::map<std::vector<int>, std::unique_ptr<DerivedStore>> derived_;  // by the nodes' parameters
  int output_ = -1, loss_ = -1;
};

}  // namespace graphrun
