#pragma once
#include <graphrun/attributes.hpp>
#include <graphrun/fusion.hpp>
#include <graphrun/tensor.hpp>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace graphrun {

enum class Mode { train, eval };

// A parameter a node owns. The framework allocates it (plain layout), initialises it,
// shares it between every use of a tower, saves it in checkpoints and updates it.
// Its initialiser and L2 factor can be set from the graph with the attributes
// `<name>_initializer` and `<name>_l2` (e.g. kernel_initializer, kernel_l2).
// Built by name: ParamSpec p("kernel", {out, in}); p.default_init = "glorot_uniform"; ...
struct ParamSpec {
  enum class Kind { weight, state };  // state: updated by the node itself (running mean)
  ParamSpec() = default;
  ParamSpec(std::string name, Shape dims) : name(std::move(name)), dims(std::move(dims)) {}
  std::string name;                   // "kernel", "bias", "gamma", "running_mean"
  Shape dims;                         // full dims, e.g. {out, in} for a dense kernel
  std::string default_init = "zeros";  // glorot_uniform, he_normal, zeros, ones, ...
  int64_t fan_in = 1;
  int64_t fan_out = 1;
  Kind kind = Kind::weight;
};

// Buffers a node derives from its parameters alone (weights reordered for a primitive,
// folded with a following map), kept once for the node's instances in every plan of the
// model: a plan of another batch size asks for the same buffer instead of keeping a copy.
class DerivedWeights {
 public:
  using Part = std::pair<const float*, size_t>;  // first float, count
  virtual ~DerivedWeights() = default;
  // The buffer named `what` laid out as `desc`: made on the first request, the same memory
  // for every later request of that name and layout, from any plan.
  virtual dnnl::memory buffer(const std::string& what, const dnnl::memory::desc& desc) = 0;
  // For fixed (frozen) weights: true, and remembers the values, when `parts` differ from
  // what that buffer was last made from by any plan (always true the first time). A node
  // whose weights train remakes its buffers every step instead.
  virtual bool changed(const std::string& what, const dnnl::memory::desc& desc, std::initializer_list<Part> parts) = 0;
};

// What the executor tells a node when it plans it for one batch size. Built from the
// engine and batch, every other member set by name (the list grows between versions).
struct PlanContext {
  PlanContext(const dnnl::engine& engine, int64_t batch) : engine(engine), batch(batch) {}
  const dnnl::engine& engine;
  int64_t batch;
  // Per-sample, as inferred, with every kBatchDim replaced by `batch`.
  std::vector<Shape> input_shapes;
  Shape output_shape;
  // Layouts the producers deliver. A node that needs another layout overwrites the
  // entry; the executor then inserts a reorder. Default: every input made plain.
  std::vector<dnnl::memory::desc> inputs;
  std::vector<bool> needs_input_grad;  // per input
  bool needs_param_grad = true;        // false when the node is frozen
  bool verbose = false;                // log primitive implementations
  // The type a node's heavy arithmetic (convolutions, inner products) may compute in: f32,
  // or bf16 under train.precision: bf16 (every plan of such a model, inference too).
  // Tensors, parameters and gradients between nodes stay f32 either way, and products
  // accumulate in f32; an op without such arithmetic ignores it.
  dnnl::memory::data_type compute = dnnl::memory::data_type::f32;
  DerivedWeights* derived = nullptr;   // this graph node's shared buffers; never null in a plan
  // The batch is this many uses of a tower stacked along the batch, `batch / batch_groups`
  // samples each. A node whose op declares OpInfo::batch_groups keeps them apart where it
  // mixes samples (batch_norm: statistics per group).
  int64_t batch_groups = 1;
  // Fusion offer (fusion.hpp): the chain of nodes after this one, each the only reader of
  // the one before (`epilogue[0]` reads this node's output), that matched one of the
  // plan's patterns. A node that computes the first k stages in its own forward sets
  // `absorbed = k`; the executor then skips those nodes (forward and backward) and binds as
  // this node's output, and output gradient, those of the last absorbed node (planned by
  // that node as usual, from this node's returned descriptor). Only a pointwise stage is
  // offered to a node that runs backward; the other stages hold at inference only.
  std::vector<EpilogueStage> epilogue{};
  size_t absorbed = 0;
  // Extent offer: every reader of the output reads only its leading `output_extent`
  // (per-sample dims, e.g. a pooling window that drops the last row) and this node runs no
  // backward. A node may leave the rest of its output unwritten. Empty: all of it is read.
  Shape output_extent{};
  // Set by plan() when the output is input 0's bytes seen with the returned descriptor
  // (flatten of a plain input, a dropout that never trains): the executor then makes the
  // output a view of the input and does not call forward. Backward runs as usual.
  bool output_aliases_input = false;
  // Layouts of the node's parameters, in the order of params(): the layout each has now.
  // Where param_layout_open[k] is set (a trainable parameter that no plan has bound yet,
  // offered to its first user only), the node may replace the entry with the layout its
  // primitives work in; the executor then re-lays the parameter, its gradient and the
  // optimizer's state in it once, so that no step reorders them. Checkpoints, initialisers
  // and the harness still read and write plain values.
  std::vector<dnnl::memory::desc> params{};
  std::vector<bool> param_layout_open{};
};

// Tensors bound to a planned node. Gradients are OVERWRITTEN by backward, never added
// to: the executor sums the gradients of tensors and parameters used several times.
struct Bindings {
  std::vector<const Tensor*> inputs;
  std::vector<Tensor*> input_grads;  // nullptr where no gradient is needed
  Tensor* output = nullptr;
  Tensor* output_grad = nullptr;     // nullptr when backward will not run
  std::vector<Tensor*> params;       // in the order of params()
  std::vector<Tensor*> param_grads;  // nullptr for state and for frozen nodes
};

struct ExecContext {
  explicit ExecContext(dnnl::stream& stream) : stream(stream) {}
  dnnl::stream& stream;
  Mode mode = Mode::train;
  uint64_t seed = 0;  // differs per node and step; derived from the run's seed
};

// One node type. Lifecycle, per batch size: infer -> params -> plan -> bind, then
// forward/backward every step. Caffe's split: the framework owns set-up order and
// memory, the node fills in shapes and computation.
class Node {
 public:
  virtual ~Node() = default;

  // Per-sample output shape from per-sample input shapes. Throws graphrun::Error
  // (the executor adds the node names) on a mismatch. An input dim may be kBatchDim (its
  // producer's output grows with the batch): pass it on or reject it. Only an op that
  // declares OpInfo::batch_dependent_shape may return kBatchDim from inputs without it.
  virtual Shape infer(const std::vector<Shape>& inputs) = 0;
  // Parameters, once inputs are known. Called after infer.
  virtual std::vector<ParamSpec> params(const std::vector<Shape>& inputs) const { (void)inputs; return {}; }
  // Create primitives for ctx.batch; return the output's memory descriptor.
  virtual dnnl::memory::desc plan(PlanContext& ctx) = 0;
  // Tensors are allocated and stable from now on; build argument maps here.
  virtual void bind(const Bindings& b) { b_ = b; }
  virtual void forward(ExecContext& ctx) = 0;
  virtual void backward(ExecContext& ctx) = 0;
  // Fusion, reader side: what this node computes, for the plan's patterns (fusion.hpp).
  // Called after infer, before plan. Default: nothing a producer could compute for it.
  virtual Fusion fusion() const { return {}; }
  // For Fusion::Kind::channel_affine: the map's current scale and shift, one per channel,
  // from the bound parameters (`scale` and `shift` keep their capacity).
  virtual void channel_affine(std::vector<float>& scale, std::vector<float>& shift) const {
    (void)scale;
    (void)shift;
  }
  // Extent offer, reader side: the leading part of input i (per-sample dims) that forward
  // and backward read, when they read less than all of it. Empty: all. Called after infer.
  virtual Shape input_extent(size_t i) const { (void)i; return {}; }
  // Human-readable implementation names of the primitives in use ("jit:avx512_core").
  virtual std::vector<std::string> implementations() const { return {}; }

 protected:
  const Tensor& in(size_t i) const { return *b_.inputs[i]; }
  Tensor* in_grad(size_t i) const { return b_.input_grads[i]; }
  Tensor& out() const { return *b_.output; }
  Tensor& out_grad() const { return *b_.output_grad; }
  Tensor& param(size_t i) const { return *b_.params[i]; }
  Tensor* param_grad(size_t i) const { return b_.param_grads[i]; }
  Bindings b_;
};

}  // namespace graphrun
