// flatten: [d1, d2, ...] per sample -> [d1 * d2 * ...]. On plain layouts the bytes do not
// change: the output is the input seen with other dims (no forward pass), and backward is
// one reorder between two views of the same plain buffer.
#include <graphrun/primitives.hpp>
#include <graphrun/registry.hpp>

namespace graphrun::core {
namespace {

class Flatten : public Node {
 public:
  explicit Flatten(const Attributes&) {}

  Shape infer(const std::vector<Shape>& inputs) override { return {volume(inputs.at(0))}; }

  dnnl::memory::desc plan(PlanContext& ctx) override {
    Shape in_dims{ctx.batch};
    in_dims.insert(in_dims.end(), ctx.input_shapes[0].begin(), ctx.input_shapes[0].end());
    ctx.inputs[0] = plain_desc(in_dims);  // blocked layouts are reordered by the executor
    flat_ = plain_desc({ctx.batch, volume(ctx.input_shapes[0])});
    engine_ = ctx.engine;
    dnnl::reorder::primitive_desc pd(ctx.engine, flat_, ctx.engine, flat_);
    log_primitive(ctx.verbose, "flatten: forward/backward", pd);
    impl_ = impl_name(pd);
    copy_ = dnnl::reorder(pd);
    ctx.output_aliases_input = true;
    return flat_;
  }

  void bind(const Bindings& b) override {
    Node::bind(b);
    // The input viewed with the output's dims: same bytes, same order.
    fwd_args_ = {{DNNL_ARG_FROM, dnnl::memory(flat_, engine_, in(0).memory().get_data_handle())},
                 {DNNL_ARG_TO, out().memory()}};
    if (in_grad(0) && b.output_grad)
      bwd_args_ = {{DNNL_ARG_FROM, out_grad().memory()},
                   {DNNL_ARG_TO, dnnl::memory(flat_, engine_, in_grad(0)->memory().get_data_handle())}};
  }

  void forward(ExecContext& ctx) override { copy_.execute(ctx.stream, fwd_args_); }

  void backward(ExecContext& ctx) override {
    if (in_grad(0)) copy_.execute(ctx.stream, bwd_args_);
  }

  std::vector<std::string> implementations() const override { return {impl_}; }

 private:
  dnnl::memory::desc flat_;
  dnnl::engine engine_;
  dnnl::reorder copy_;
  std::string impl_;
  ArgMap fwd_args_, bwd_args_;
};

}  // namespace

OpInfo flatten_op() {
  OpInfo op;
  op.name = "flatten";
  op.batch_mixing = BatchMixing::none;
  op.description = "Flattens each sample to one dimension: [d1, d2, ...] -> [d1*d2*...] (row-major order)";
  op.make = [](const Attributes& a) { return std::make_unique<Flatten>(a); };
  return op;
}

}  // namespace graphrun::core
