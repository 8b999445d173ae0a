#pragma once
// A model made executable for one batch size: nodes instantiated, primitives created,
// every activation and gradient allocated once. A training step is forward(), backward()
// (gradients per node), reduce_gradients() (sums over shared uses) and then the optimizer:
// three separate stages, so that a data-parallel run can all-reduce in between.
#include "graph/model.hpp"

#include <graphrun/primitives.hpp>

#include <memory>
#include <utility>
#include <vector>

namespace graphrun {

class Plan {
 public:
  // An inference plan runs forward in eval mode only: it plans no backward pass and holds
  // no gradient buffers (validation and scoring at batch sizes that do not train).
  enum class Purpose { training, inference };
  Plan(Model& model, int64_t batch, bool verbose = false, Purpose purpose = Purpose::training);
  ~Plan();
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;

  int64_t batch() const { return batch_; }
  Purpose purpose() const { return purpose_; }
  // Bytes of activation gradients this plan holds (none for an inference plan).
  size_t gradient_bytes() const;
  // The plain tensor a graph input reads its batch from.
  Tensor& input(int node);
  // Runs every step, or with last_node >= 0 only the steps up to that node's (embeddings
  // without the loss).
  void forward(Mode mode, uint64_t seed, int last_node = -1);
  void backward(uint64_t seed);
  void reduce_gradients();
  // Loss value of the last forward pass (without regularisation).
  float loss() const;
  // A node's output of the last forward pass, plain (row-major), batch first: batch() *
  // volume(output_shape(node)) floats.
  const float* output(int node);
  // Its per-sample shape in this plan: kBatchDim (a batch-dependent op's) made batch().
  Shape output_shape(int node) const;
  std::vector<std::string> implementations() const;

 private:
  struct Step;
  struct Slot;
  std::vector<EpilogueStage> epilogue_offer(int id, std::vector<int>& chain) const;
  Shape read_extent(int id) const;
  void plan_node(int id);
  void plan_stack(int id);
  void plan_split(int id);
  void plan_gradients();
  void warm_up();

  Model& model_;
  int64_t batch_;
  bool verbose_;
  Purpose purpose_;
  dnnl::stream stream_;
  std::vector<std::unique_ptr<Step>> steps_;
  std::vector<std::unique_ptr<Slot>> param_slots_;
  std::vector<std::vector<std::pair<int, size_t>>> readers_;  // per node: (reader, input index), one per use
};

}  // namespace graphrun
