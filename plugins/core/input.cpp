// input: where a batch enters the graph. The executor writes each batch into this
// node's output; forward and backward have nothing to do.
#include <graphrun/error.hpp>
#include <graphrun/registry.hpp>

namespace graphrun::core {
namespace {

class Input : public Node {
 public:
  explicit Input(const Attributes& a) : shape_(a.integers("shape", {})) {
    if (shape_.empty()) a.fail("shape", "is required (per-sample dims, e.g. [784])");
    for (auto d : shape_)
      if (d <= 0) a.fail("shape", "must have positive dims, got " + to_string(shape_));
  }
  Shape infer(const std::vector<Shape>&) override { return shape_; }
  dnnl::memory::desc plan(PlanContext& ctx) override {
    Shape full{ctx.batch};
    full.insert(full.end(), shape_.begin(), shape_.end());
    return plain_desc(full);
  }
  void forward(ExecContext&) override {}
  void backward(ExecContext&) override {}

 private:
  Shape shape_;
};

}  // namespace

OpInfo input_op() {
  OpInfo op;
  op.name = "input";
  op.batch_mixing = BatchMixing::none;
  op.description = "Graph input; the executor writes each batch into it";
  op.min_inputs = op.max_inputs = 0;
  op.attrs = {{"shape", "", "per-sample dims, e.g. [784] or [1, 28, 28]"}};
  op.make = [](const Attributes& a) { return std::make_unique<Input>(a); };
  return op;
}

}  // namespace graphrun::core
