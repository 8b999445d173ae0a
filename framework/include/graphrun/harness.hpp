#pragma once
#include <graphrun/node.hpp>
#include <graphrun/registry.hpp>

#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace graphrun {

// Runs one node on its own, outside any graph (GStreamer's GstHarness): for plugin
// tests, finite-difference gradient checks and the contract every op keeps. Inputs and
// parameters are filled with uniform random values in [-1, 1]; set them with
// set_input()/set_param(). Input shapes may hold kBatchDim (a batch-dependent producer):
// the node infers from them as given and is planned with `batch` in their place.
// It also offers what a plan offers: the frozen case, an output extent, and the readers
// a plan would fuse into the node (check_against_reference compares each with the plain
// computation).
class NodeHarness {
 public:
  struct Options {
    int64_t batch = 3;
    Mode mode = Mode::train;
    std::vector<bool> needs_input_grad;            // default: all true
    std::vector<dnnl::memory::desc> input_layouts;  // what "producers" deliver; default plain
    uint64_t seed = 1;
    int64_t batch_groups = 1;  // the batch as stacked tower uses (PlanContext::batch_groups)
    // PlanContext::compute: bf16 plans the node as a bf16 model's plans do (the reference
    // of check_against_reference then computes in bf16 too).
    dnnl::memory::data_type compute = dnnl::memory::data_type::f32;
    // Planned as a frozen node: no parameter gradients, no parameter layout open.
    bool frozen = false;
    // Offered as PlanContext::output_extent: only this leading part (per-sample dims) of
    // the output is read. Needs `frozen` and no input gradients (a plan offers it only to a
    // node that runs no backward).
    Shape output_extent{};
    // Nodes reading the output one after the other, by op name and attributes, offered to
    // the node as a plan offers them (PlanContext::epilogue, by the plan's patterns; at
    // inference when frozen without input gradients). The harness's output is then the
    // last absorbed reader's. Their parameters are drawn in [0.5, 1.5] (a variance stays
    // positive).
    std::vector<std::pair<std::string, Attributes>> readers{};
  };

  NodeHarness(const Registry& registry, const std::string& op, const Attributes& attrs,
              const std::vector<Shape>& input_shapes, Options options);
  ~NodeHarness();

  // Per-sample, as planned: kBatchDim made the batch size. inferred_shape(): as inferred.
  Shape output_shape() const { return resolve_batch(output_shape_, batch()); }
  Shape inferred_shape() const { return output_shape_; }
  int64_t batch() const;
  const std::vector<ParamSpec>& param_specs() const { return specs_; }
  // How many of Options::readers the node computes in its own forward.
  size_t absorbed() const;
  std::vector<std::string> implementations() const { return node_->implementations(); }

  // Plain (row-major) values of inputs, parameters and output.
  void set_input(size_t i, const std::vector<float>& values);
  std::vector<float> input(size_t i) const;
  void set_param(size_t i, const std::vector<float>& values);
  std::vector<float> param(size_t i) const;
  std::vector<float> output() const;

  void forward();
  // Backward with the given output gradient (plain); returns nothing, read the grads.
  void backward(const std::vector<float>& output_grad);
  std::vector<float> input_grad(size_t i) const;
  std::vector<float> param_grad(size_t i) const;

  struct CheckResult {
    double max_error = 0;  // max over checked entries of |a-n| / max(1, |a|, |n|)
    std::string worst;     // which entry, for the failure message
    size_t checked = 0;
  };
  // Central differences of L = sum(r * output) for a fixed random r, against backward,
  // for every input that needs a gradient and every trainable parameter; at most
  // `max_entries` entries per tensor.
  CheckResult check_gradients(double eps = 1e-3, size_t max_entries = 60);
  // Backward overwrites its gradients, never adds to them or leaves parts unwritten: the
  // input and parameter gradients are filled with NaN, then backward runs twice with the
  // same output gradient. Every entry must be finite after the first and equal after the
  // second (max_error: the largest relative difference, infinite for a NaN left).
  CheckResult check_backward_overwrites();
  // For an op whose OpInfo declares BatchMixing::none: rotating the batch rows of every
  // input (and of the output gradient) rotates the output and the input gradients the
  // same way and changes nothing else (parameter gradients, up to summation order).
  // Nothing is checked (checked == 0) for an op without inputs; an Error for another
  // batch mixing. The inputs are restored afterwards.
  CheckResult check_batch_permutation();
  // Forward (in the harness's mode) against the same op planned plainly (trainable, no
  // extent, no offer) with the same inputs and parameters, followed by the absorbed
  // readers run as nodes of their own: every output entry must agree (with an output
  // extent, every entry inside it). checked: the entries compared.
  CheckResult check_against_reference();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<Node> node_;
  std::vector<ParamSpec> specs_;
  Shape output_shape_;
};

}  // namespace graphrun
