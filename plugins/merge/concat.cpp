// concat: joins 2+ inputs along one per-sample axis (R1's dense matcher, R5's unshared
// towers). Forward is oneDNN concat. Backward: each input's gradient is a slice of the
// output gradient, read through a sub-memory view and copied out by one reorder.
#include "merge_util.hpp"

#include <graphrun/registry.hpp>

namespace graphrun::merge {
namespace {

using dnnl::memory;

class Concat : public Node {
 public:
  explicit Concat(const Attributes& a) : attrs_(a), axis_attr_(a.integer("axis", -1)) {}

  Shape infer(const std::vector<Shape>& in) override {
    if (in.size() < 2) throw Error("concat needs at least 2 inputs, got " + std::to_string(in.size()));
    const int64_t rank = static_cast<int64_t>(in[0].size());
    if (rank == 0) throw Error("concat needs inputs with at least one per-sample dim, got []");
    if (axis_attr_ < -rank || axis_attr_ >= rank)
      attrs_.fail("axis", "must be in [" + std::to_string(-rank) + ", " + std::to_string(rank) +
                              ") for inputs of per-sample shape " + to_string(in[0]) + ", got " +
                              std::to_string(axis_attr_));
    axis_ = axis_attr_ < 0 ? axis_attr_ + rank : axis_attr_;
    Shape out = in[0];
    for (size_t i = 1; i < in.size(); ++i) {
      bool ok = static_cast<int64_t>(in[i].size()) == rank;
      for (int64_t d = 0; ok && d < rank; ++d) ok = d == axis_ || in[i][d] == in[0][d];
      if (!ok)
        throw Error("concat along per-sample axis " + std::to_string(axis_) +
                    " needs inputs equal in every other dim, got " + to_string(in[0]) + " (input 0) and " +
                    to_string(in[i]) + " (input " + std::to_string(i) + ")");
      out[axis_] += in[i][axis_];
    }
    return out;
  }

  memory::desc plan(PlanContext& ctx) override {
    engine_ = ctx.engine;
    impls_.clear();
    const size_t n = ctx.input_shapes.size();
    std::vector<memory::desc> srcs;
    for (size_t i = 0; i < n; ++i) {
      ctx.inputs[i] = plain_desc(with_batch(ctx.batch, ctx.input_shapes[i]));
      srcs.push_back(ctx.inputs[i]);
    }
    const memory::desc dst = plain_desc(with_batch(ctx.batch, ctx.output_shape));
    dnnl::concat::primitive_desc pd(dst, static_cast<int>(axis_ + 1), srcs, ctx.engine);
    note(ctx, impls_, "concat: forward", pd);
    fwd_.primitive = dnnl::concat(pd);

    // Backward: input i's gradient is the output gradient's slice at this offset.
    slices_.assign(n, memory::desc());
    bwd_.assign(n, Step{});
    memory::dims offsets(dst.dims().size(), 0);
    for (size_t i = 0; i < n; ++i) {
      const memory::dims dims = srcs[i].dims();
      if (wants_grad(ctx, i)) {
        slices_[i] = dst.submemory_desc(dims, offsets);
        dnnl::reorder::primitive_desc rpd(ctx.engine, slices_[i], ctx.engine, srcs[i]);
        note(ctx, impls_, "concat: backward slice " + std::to_string(i), rpd);
        bwd_[i].primitive = dnnl::reorder(rpd);
      }
      offsets[axis_ + 1] += dims[axis_ + 1];
    }
    return dst;
  }

  void bind(const Bindings& b) override {
    Node::bind(b);
    fwd_.args = {{DNNL_ARG_DST, out().memory()}};
    for (size_t i = 0; i < b.inputs.size(); ++i) fwd_.args[DNNL_ARG_MULTIPLE_SRC + int(i)] = in(i).memory();
    for (size_t i = 0; i < bwd_.size(); ++i) {
      bwd_[i].args.clear();
      if (!b.output_grad || !in_grad(i)) continue;
      if (!bwd_[i].primitive) throw Error("concat: input gradient bound, but planned without one");
      memory view(slices_[i], engine_, out_grad().memory().get_data_handle());
      bwd_[i].args = {{DNNL_ARG_FROM, view}, {DNNL_ARG_TO, in_grad(i)->memory()}};
    }
  }

  void forward(ExecContext& ctx) override { fwd_.run(ctx.stream); }

  void backward(ExecContext& ctx) override {
    for (const Step& s : bwd_)
      if (!s.args.empty()) s.run(ctx.stream);
  }

  std::vector<std::string> implementations() const override { return impls_; }

 private:
  Attributes attrs_;  // kept to report a bad axis once the input rank is known
  int64_t axis_attr_;
  int64_t axis_ = 0;  // per-sample axis, non-negative
  dnnl::engine engine_;
  Step fwd_;
  std::vector<Step> bwd_;
  std::vector<memory::desc> slices_;
  std::vector<std::string> impls_;
};

}  // namespace

OpInfo concat_op() {
  OpInfo op;
  op.name = "concat";
  op.batch_mixing = BatchMixing::none;
  op.description = "Concatenates 2 or more inputs along a per-sample axis; the other dims must be equal";
  op.min_inputs = 2;
  op.max_inputs = -1;
  op.attrs = {{"axis", "-1", "per-sample axis (the batch is not counted); negative counts from the end"}};
  op.make = [](const Attributes& a) { return std::make_unique<Concat>(a); };
  return op;
}

}  // namespace graphrun::merge
