// product_sum: p = sum_i a_i * b_i per sample, output [1]. For two softmax outputs this
// is the probability that both draws name the same class (R1's "product matcher").
// Forward: binary mul into a scratch buffer, then a sum reduction over the features.
// Backward: da = g * b, db = g * a (binary mul broadcasting g over the features).
#include "merge_util.hpp"

#include <graphrun/registry.hpp>

namespace graphrun::merge {
namespace {

using dnnl::algorithm;
using dnnl::memory;

class ProductSum : public Node {
 public:
  explicit ProductSum(const Attributes&) {}

  Shape infer(const std::vector<Shape>& in) override {
    require_equal_vectors("product_sum", in);
    return {1};
  }

  memory::desc plan(PlanContext& ctx) override {
    impls_.clear();
    const int64_t n = ctx.batch, width = ctx.input_shapes.at(0).at(0);
    const memory::desc md = plain_desc({n, width}), dst = plain_desc({n, 1});
    ctx.inputs[0] = ctx.inputs[1] = md;
    product_buf_ = Tensor(md, ctx.engine);

    auto mpd = binary_pd(ctx.engine, algorithm::binary_mul, md, md, md);
    note(ctx, impls_, "product_sum: forward product", mpd);
    mul_.primitive = dnnl::binary(mpd);
    dnnl::reduction::primitive_desc rpd(dnnl::reduction::desc(algorithm::reduction_sum, md, dst, 0.f, 0.f),
                                        ctx.engine);
    note(ctx, impls_, "product_sum: forward sum", rpd);
    sum_.primitive = dnnl::reduction(rpd);

    grad_.primitive = dnnl::primitive();
    if (wants_grad(ctx, 0) || wants_grad(ctx, 1)) {
      auto gpd = binary_pd(ctx.engine, algorithm::binary_mul, md, dst, md);
      note(ctx, impls_, "product_sum: backward", gpd);
      grad_.primitive = dnnl::binary(gpd);  // one primitive, run once per wanted input
    }
    return dst;
  }

  void bind(const Bindings& b) override {
    Node::bind(b);
    mul_.args = {{DNNL_ARG_SRC_0, in(0).memory()}, {DNNL_ARG_SRC_1, in(1).memory()},
                 {DNNL_ARG_DST, product_buf_.memory()}};
    sum_.args = {{DNNL_ARG_SRC, product_buf_.memory()}, {DNNL_ARG_DST, out().memory()}};
    for (int i = 0; i < 2; ++i) {
      grads_[i] = Step{};
      if (!b.output_grad || !in_grad(i)) continue;
      if (!grad_.primitive) throw Error("product_sum: input gradient bound, but planned without one");
      grads_[i] = {grad_.primitive, {{DNNL_ARG_SRC_0, in(1 - i).memory()},
                                     {DNNL_ARG_SRC_1, out_grad().memory()},
                                     {DNNL_ARG_DST, in_grad(i)->memory()}}};
    }
  }

  void forward(ExecContext& ctx) override {
    mul_.run(ctx.stream);
    sum_.run(ctx.stream);
  }

  void backward(ExecContext& ctx) override {
    for (const Step& s : grads_)
      if (!s.args.empty()) s.run(ctx.stream);
  }

  std::vector<std::string> implementations() const override { return impls_; }

 private:
  Step mul_, sum_, grad_, grads_[2];
  Tensor product_buf_;
  std::vector<std::string> impls_;
};

}  // namespace

OpInfo product_sum_op() {
  OpInfo op;
  op.name = "product_sum";
  op.batch_mixing = BatchMixing::none;
  op.description = "Per-sample dot product sum(a * b) of two rank-1 inputs, output [1]; of two softmax "
                   "outputs it is the probability that both name the same class";
  op.min_inputs = op.max_inputs = 2;
  op.make = [](const Attributes& a) { return std::make_unique<ProductSum>(a); };
  return op;
}

}  // namespace graphrun::merge
