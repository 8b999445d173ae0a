#pragma once
// A Plan's steps and gradient slots, shared by plan.cpp (nodes, passes) and
// plan_gradients.cpp (where every gradient is written and summed).
#include "exec/plan.hpp"

namespace graphrun {

// Where a gradient is gathered: several sources (one per consumer, or per use of a
// shared parameter) summed into one target, reordering sources whose layout differs.
struct Plan::Slot {
  std::vector<Tensor> sources;  // written by the consumers' backward
  std::vector<Tensor> staged;   // sources reordered to the target's layout
  std::vector<dnnl::reorder> stage;
  std::vector<size_t> stage_of;  // index into sources for each stage reorder
  dnnl::primitive combine;
  ArgMap combine_args;

  // Called once every source exists: prepares the gather into `target`.
  void prepare(Tensor& target, const dnnl::engine& eng) {
    if (sources.size() == 1) {  // one reorder (or copy) into the target, whatever the layouts
      combine = dnnl::reorder(sources[0].memory(), target.memory());
      combine_args = {{DNNL_ARG_FROM, sources[0].memory()}, {DNNL_ARG_TO, target.memory()}};
      return;
    }
    std::vector<dnnl::memory> srcs;
    for (size_t i = 0; i < sources.size(); ++i) {
      if (sources[i].desc() == target.desc()) {
        srcs.push_back(sources[i].memory());
        continue;
      }
      staged.emplace_back(target.desc(), eng);
      stage.emplace_back(sources[i].memory(), staged.back().memory());
      stage_of.push_back(i);
      srcs.push_back(staged.back().memory());
    }
    if (srcs.size() == 1) {
      combine = dnnl::reorder(srcs[0], target.memory());
      combine_args = {{DNNL_ARG_FROM, srcs[0]}, {DNNL_ARG_TO, target.memory()}};
      return;
    }
    std::vector<dnnl::memory::desc> mds;
    for (auto& m : srcs) mds.push_back(m.get_desc());
    dnnl::sum::primitive_desc pd(target.desc(), std::vector<float>(srcs.size(), 1.f), mds, eng);
    combine = dnnl::sum(pd);
    for (size_t i = 0; i < srcs.size(); ++i) combine_args[DNNL_ARG_MULTIPLE_SRC + int(i)] = srcs[i];
    combine_args[DNNL_ARG_DST] = target.memory();
  }
  void run(dnnl::stream& s) {
    for (size_t k = 0; k < stage.size(); ++k)
      stage[k].execute(s, sources[stage_of[k]].memory(), staged[k].memory());
    combine.execute(s, combine_args);
  }
};

struct Plan::Step {
  const NodeDef* def = nullptr;
  std::unique_ptr<Node> node;  // none for the executor's own stack and split steps
  int64_t batch = 0;
  bool on_loss_path = false;
  bool needs_grad = false;  // its output depends on a trainable parameter
  bool run_backward = false;
  std::vector<bool> wants_input_grad;
  std::vector<dnnl::memory::desc> input_descs;  // as the node asked for them
  std::vector<Tensor> converted;                // per input; empty when no reorder
  std::vector<dnnl::reorder> convert;
  Tensor out, out_grad;
  std::vector<Tensor*> input_grads;
  std::vector<Tensor*> param_grads;
  std::unique_ptr<Slot> grad_in;  // gathers consumers' gradients into out_grad
  Tensor plain;                   // plain copy of out for readers, when out is blocked
  dnnl::reorder to_plain;
  int folded_into = -1;   // a node that computes this one in its own forward (PlanContext::epilogue)
  int fused_output = -1;  // the last node folded into this one: its output is written here
  bool aliased = false;  // out is a view of input 0 (PlanContext::output_aliases_input)
  bool partial = false;  // offered an output extent: parts of out may never be written
  std::vector<Tensor> parts;         // stack: each input's slice of out
  std::vector<dnnl::reorder> gather;  // stack: input -> slice, empty where the input is the slice
};

}  // namespace graphrun
