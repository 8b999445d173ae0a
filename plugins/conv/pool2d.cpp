// Pooling node shared by max_pool2d and avg_pool2d. It keeps the producer's layout (a
// blocked conv output stays blocked) unless that layout only has a reference kernel.
// In the layouts graphrun's own kernels read (nchw, nhwc, nChw8c, nChw16c) those run
// (own_pool.hpp: oneDNN 2.6's pooling is far slower than they); oneDNN's pooling serves
// any other layout.
#include "pool2d.hpp"

#include "layout.hpp"
#include "own_pool.hpp"
#include "window.hpp"

#include <graphrun/error.hpp>
#include <graphrun/primitives.hpp>

#include <cstdint>
#include <vector>

namespace graphrun::conv {
namespace {

using dnnl::memory;
using tag = memory::format_tag;

// The [outer][height][width][inner] view of a layout the own kernels read, if it is one.
bool own_view(const memory::desc& d, const memory::dims& dims, int64_t& outer, int64_t& inner, tag& layout) {
  const int64_t n = dims[0], c = dims[1];
  struct Option {
    tag t;
    int64_t outer, inner;
  };
  for (const Option& o : {Option{tag::nchw, n * c, 1}, Option{tag::nhwc, n, c}, Option{tag::nChw8c, n * ((c + 7) / 8), 8},
                          Option{tag::nChw16c, n * ((c + 15) / 16), 16}})
    if (d == tagged(dims, o.t)) {
      outer = o.outer;
      inner = o.inner;
      layout = o.t;
      return true;
    }
  return false;
}

class Pool2d : public Node {
 public:
  Pool2d(const Attributes& a, dnnl::algorithm algorithm, std::string op)
      : op_(std::move(op)),
        algorithm_(algorithm),
        pool_(positive_pair(a, "pool_size", {2, 2})),
        strides_(positive_pair(a, "strides", pool_)),
        same_(a.choice("padding", "valid", {"valid", "same"}) == "same") {}

  Shape infer(const std::vector<Shape>& inputs) override {
    const Shape& in = inputs.at(0);
    if (in.size() != 3)
      throw Error(op_ + " expects a per-sample [channels, height, width] input, got " + to_string(in));
    in_ = in;
    wh_ = keras_window(in[1], pool_[0], strides_[0], same_);
    ww_ = keras_window(in[2], pool_[1], strides_[1], same_);
    if (wh_.out <= 0 || ww_.out <= 0)
      throw Error(op_ + ": input " + to_string(in) + " is smaller than the pool " + to_string(pool_) +
                  " (padding valid)");
    return {in[0], wh_.out, ww_.out};
  }

  Shape input_extent(size_t) const override {
    return {in_[0], window_reach(wh_, in_[1], pool_[0], strides_[0]), window_reach(ww_, in_[2], pool_[1], strides_[1])};
  }

  memory::desc plan(PlanContext& ctx) override {
    const dnnl::engine& eng = ctx.engine;
    const memory::desc producer = ctx.inputs.at(0);
    const memory::dims src_dims{ctx.batch, in_[0], in_[1], in_[2]};
    if (producer.dims() != src_dims)
      throw Error(op_ + ": planned input dims do not match the inferred shape " + to_string(in_));
    const bool need_data = ctx.needs_input_grad.at(0);
    const memory::desc dst_any({ctx.batch, in_[0], wh_.out, ww_.out}, memory::data_type::f32, tag::any);
    const memory::dims strides{strides_[0], strides_[1]}, kernel{pool_[0], pool_[1]},
        pad_l{wh_.pad_l, ww_.pad_l}, pad_r{wh_.pad_r, ww_.pad_r};

    impls_.clear();
    fwd_ = {};
    bwd_ = {};
    workspace_ = {};
    int64_t outer = 0, inner = 0;
    tag layout = tag::undef;
    const bool max = algorithm_ == dnnl::algorithm::pooling_max;
    own_ = own_view(producer, src_dims, outer, inner, layout);
    if (own_) {
      geometry_ = {outer, inner, in_[1], in_[2], wh_.out, ww_.out, pool_[0], pool_[1],
                   strides_[0], strides_[1], wh_.pad_l, ww_.pad_l};
      const std::string impl = max ? "graphrun:max_pool" : "graphrun:avg_pool";
      log_implementation(ctx.verbose, op_ + ": forward", impl);
      impls_.push_back(impl);
      if (need_data) {
        log_implementation(ctx.verbose, op_ + ": backward", impl);
        impls_.push_back(impl);
      }
      planned_backward_ = need_data;
      return tagged({ctx.batch, in_[0], wh_.out, ww_.out}, layout);
    }

    dnnl::pooling_forward::primitive_desc fwd, chosen_fwd;
    dnnl::pooling_backward::primitive_desc bwd, chosen_bwd;
    memory::desc chosen_src;
    for (const memory::desc& src : {producer, tagged(src_dims, tag::nhwc), tagged(src_dims, tag::nchw)}) {
      try {
        // Without a backward pass, max pooling need not record where each maximum was.
        const auto prop = need_data ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
        fwd = dnnl::pooling_forward::primitive_desc({prop, algorithm_, src, dst_any, strides, kernel, pad_l, pad_r}, eng);
        bwd = {};
        if (need_data)
          bwd = dnnl::pooling_backward::primitive_desc(
              {algorithm_, src, fwd.dst_desc(), strides, kernel, pad_l, pad_r}, eng, fwd);
      } catch (const dnnl::error&) {
        continue;  // not implemented for this layout
      }
      const bool ref = is_reference(fwd) || (bwd && is_reference(bwd));
      if (!chosen_fwd || !ref) {
        chosen_fwd = fwd;
        chosen_bwd = bwd;
        chosen_src = src;
      }
      if (!ref) break;
    }
    if (!chosen_fwd) throw Error(op_ + ": oneDNN offers no pooling for input " + to_string(in_));

    planned_backward_ = bool(chosen_bwd);
    fwd_ = dnnl::pooling_forward(chosen_fwd);
    log_primitive(ctx.verbose, op_ + ": forward", chosen_fwd);
    impls_.push_back(impl_name(chosen_fwd));
    bwd_ = {};
    if (chosen_bwd) {
      bwd_ = dnnl::pooling_backward(chosen_bwd);
      log_primitive(ctx.verbose, op_ + ": backward", chosen_bwd);
      impls_.push_back(impl_name(chosen_bwd));
    }
    // Max pooling records where each maximum came from; backward routes gradients there.
    const memory::desc ws = chosen_fwd.workspace_desc();
    workspace_ = ws.get_size() > 0 ? memory(ws, eng) : memory();
    ctx.inputs[0] = chosen_src;
    return chosen_fwd.dst_desc();
  }

  void bind(const Bindings& b) override {
    b_ = b;
    if (b.input_grads.at(0) && !planned_backward_) throw Error(op_ + ": an input gradient is bound but was not planned");
    fwd_args_ = {{DNNL_ARG_SRC, in(0).memory()}, {DNNL_ARG_DST, out().memory()}};
    if (workspace_) fwd_args_[DNNL_ARG_WORKSPACE] = workspace_;
    if (!b.output_grad || !in_grad(0)) return;
    bwd_args_ = {{DNNL_ARG_DIFF_DST, out_grad().memory()}, {DNNL_ARG_DIFF_SRC, in_grad(0)->memory()}};
    if (workspace_) bwd_args_[DNNL_ARG_WORKSPACE] = workspace_;
  }

  void forward(ExecContext& ctx) override {
    if (!own_) {
      fwd_.execute(ctx.stream, fwd_args_);
      return;
    }
    ctx.stream.wait();  // the input's producer has finished
    if (algorithm_ == dnnl::algorithm::pooling_max)
      max_pool_forward(geometry_, in(0).data(), out().data());
    else
      avg_pool_forward(geometry_, in(0).data(), out().data());
  }

  void backward(ExecContext& ctx) override {
    if (!b_.output_grad || !in_grad(0)) return;
    if (!own_) {
      bwd_.execute(ctx.stream, bwd_args_);
      return;
    }
    ctx.stream.wait();
    if (algorithm_ == dnnl::algorithm::pooling_max)
      max_pool_backward(geometry_, in(0).data(), out().data(), out_grad().data(), in_grad(0)->data());
    else
      avg_pool_backward(geometry_, out_grad().data(), in_grad(0)->data());
  }

  std::vector<std::string> implementations() const override { return impls_; }

  // A producer may compute the pooling in its own forward (fusion.hpp).
  Fusion fusion() const override {
    Fusion f;
    f.kind = Fusion::Kind::pooling;
    f.window = {algorithm_ == dnnl::algorithm::pooling_max, pool_[0], pool_[1], strides_[0], strides_[1], wh_.pad_l,
                ww_.pad_l, wh_.out, ww_.out};
    return f;
  }

 private:
  std::string op_;
  dnnl::algorithm algorithm_;
  std::vector<int64_t> pool_, strides_;
  bool same_;
  Shape in_;
  Window wh_, ww_;
  dnnl::pooling_forward fwd_;
  dnnl::pooling_backward bwd_;
  memory workspace_;
  bool own_ = false, planned_backward_ = false;
  PoolGeometry geometry_{};
  ArgMap fwd_args_, bwd_args_;
  std::vector<std::string> impls_;
};

}  // namespace

std::unique_ptr<Node> make_pool2d(const Attributes& a, dnnl::algorithm algorithm, const std::string& op) {
  return std::make_unique<Pool2d>(a, algorithm, op);
}

std::vector<AttrSpec> pool2d_attrs() {
  return {{"pool_size", "2", "n or [height, width]"},
          {"strides", "pool_size", "n or [height, width]"},
          {"padding", "valid", "valid or same (Keras semantics)"}};
}

}  // namespace graphrun::conv
