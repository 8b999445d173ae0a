#pragma once
#include <graphrun/abi.hpp>
#include <graphrun/attributes.hpp>
#include <graphrun/node.hpp>

#include <boost/config.hpp>
#include <boost/dll/alias.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace graphrun {

// One row of an op's attribute table (listed by `graphrun plugins -v`): written in this
// order, {name, default, doc}. Only displayed: an op reads its attributes by name.
struct AttrSpec {
  std::string name;
  std::string default_value;  // "" when required
  std::string doc;
};

// Whether one sample's output depends on the other samples of the batch. The executor
// runs all uses of a shared tower as one batch only when every layer answers `none`, or
// `in_training` and the layer is frozen (it always runs in eval mode) or keeps the uses
// apart itself (OpInfo::batch_groups).
enum class BatchMixing {
  none,         // per sample: dense, convolution, pooling, activations, dropout
  in_training,  // batch statistics in train mode only: batch_norm
  always        // losses, anything reducing over the batch; the safe default
};

// Everything the framework knows about an op: its metadata (listed by
// `graphrun plugins` without running anything) and its factory.
struct OpInfo {
  std::string name;
  std::string description;
  int min_inputs = 1;
  int max_inputs = 1;   // -1: any number
  bool is_loss = false; // output is a scalar the executor differentiates
  BatchMixing batch_mixing = BatchMixing::always;
  // Mixes samples, but can keep the stacked uses of a tower apart (PlanContext::
  // batch_groups): its tower may then run all its uses as one batch all the same.
  bool batch_groups = false;
  // Its output's per-sample shape holds the batch size: infer returns kBatchDim there
  // (pairwise_distance: [kBatchDim], one distance to every sample of the other batch).
  // Plans are made per batch size, so its buffers are too. Needs batch_mixing `always`;
  // such an output is not scored by accuracy.
  bool batch_dependent_shape = false;
  std::vector<AttrSpec> attrs;
  std::function<std::unique_ptr<Node>(const Attributes&)> make;
  std::string library;  // filled in by the loader
};

class Registry {
 public:
  void add(OpInfo info);
  const OpInfo* find(const std::string& name) const;
  const std::map<std::string, OpInfo>& ops() const { return ops_; }
  // The known op name closest to `name` (edit distance), for error messages.
  std::string nearest(const std::string& name) const;
  void set_current_library(std::string path) { current_library_ = std::move(path); }

 private:
  std::map<std::string, OpInfo> ops_;
  std::string current_library_;
};

using RegisterFn = void(Registry&);

}  // namespace graphrun

// A plugin library exports its ABI version and one registration function:
//   void register_ops(graphrun::Registry& r) { r.add({...}); }
//   GRAPHRUN_PLUGIN(register_ops)
#define GRAPHRUN_PLUGIN(register_fn)                                          \
  extern "C" BOOST_SYMBOL_EXPORT const int graphrun_plugin_abi_version;      \
  const int graphrun_plugin_abi_version = GRAPHRUN_ABI_VERSION;              \
  BOOST_DLL_ALIAS(register_fn, graphrun_register_ops)
