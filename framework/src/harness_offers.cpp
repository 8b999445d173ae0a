// NodeHarness: what a plan offers a node besides its inputs (the readers it may fuse,
// PlanContext::epilogue), and the plain computation every offer is checked against.
#include "harness_impl.hpp"

#include "exec/fusion_patterns.hpp"

#include <graphrun/error.hpp>

#include <algorithm>
#include <cmath>
#include <random>

namespace graphrun {
namespace {

Shape batched(int64_t batch, const Shape& per_sample) {
  Shape full{batch};
  full.insert(full.end(), per_sample.begin(), per_sample.end());
  return full;
}

// Plans `node` for one input of per-sample `in_shape` laid out as `layout`, frozen, with no
// backward: what a plan does with an absorbed reader. Returns its output descriptor.
dnnl::memory::desc plan_frozen(Node& node, const dnnl::engine& engine, int64_t batch, const Shape& in_shape,
                               const Shape& out_shape, const dnnl::memory::desc& layout,
                               const std::vector<ParamSpec>& specs, DerivedStore& derived,
                               dnnl::memory::desc* input_asked = nullptr) {
  PlanContext ctx(engine, batch);
  ctx.derived = &derived;
  ctx.input_shapes = {in_shape};
  ctx.output_shape = out_shape;
  ctx.inputs = {layout};
  ctx.needs_input_grad = {false};
  ctx.needs_param_grad = false;
  for (const ParamSpec& spec : specs) {
    ctx.params.push_back(plain_desc(spec.dims));
    ctx.param_layout_open.push_back(false);
  }
  const dnnl::memory::desc out = node.plan(ctx);
  if (input_asked) *input_asked = ctx.inputs[0];
  return out;
}

}  // namespace

std::vector<EpilogueStage> NodeHarness::Impl::prepare_readers(const Shape& shape, bool inference) {
  std::mt19937 rng(static_cast<uint32_t>(opt.seed + 11));
  std::uniform_real_distribution<float> positive(0.5f, 1.5f);
  std::vector<Fusion::Kind> kinds;
  std::vector<EpilogueStage> offer;
  Shape in = resolve_batch(shape, opt.batch);
  for (const auto& [op_name, reader_attrs] : opt.readers) {
    const OpInfo* reader_info = registry->find(op_name);
    if (!reader_info) throw Error("harness: unknown reader op '" + op_name + "'");
    Reader r;
    r.derived = std::make_unique<DerivedStore>(engine);
    r.node = reader_info->make(reader_attrs);
    const Shape out = resolve_batch(r.node->infer({in}), opt.batch);
    const std::vector<ParamSpec> specs = r.node->params({in});
    dnnl::memory::desc asked;
    const dnnl::memory::desc out_desc =
        plan_frozen(*r.node, engine, opt.batch, in, out, plain_desc(batched(opt.batch, in)), specs, *r.derived, &asked);
    r.input = Tensor(asked, engine);
    r.output = Tensor(out_desc, engine);
    Bindings b;
    b.inputs = {&r.input};
    b.input_grads = {nullptr};
    b.output = &r.output;
    r.params.reserve(specs.size());
    for (const ParamSpec& spec : specs) {
      r.params.emplace_back(plain_desc(spec.dims), engine);
      std::vector<float> v(size_t(volume(spec.dims)));
      for (auto& x : v) x = positive(rng);
      r.params.back().set_plain_values(v.data());
    }
    for (Tensor& t : r.params) {
      b.params.push_back(&t);
      b.param_grads.push_back(nullptr);
    }
    r.node->bind(b);
    const Fusion f = r.node->fusion();
    EpilogueStage stage{f, nullptr};
    if (f.kind == Fusion::Kind::channel_affine) {
      const Node* node = r.node.get();
      stage.affine = [node](std::vector<float>& scale, std::vector<float>& shift) { node->channel_affine(scale, shift); };
    }
    kinds.push_back(f.kind);
    offer.push_back(std::move(stage));
    readers.push_back(std::move(r));
    in = out;
  }
  offer.resize(fusable_prefix(kinds, inference));
  return offer;
}

dnnl::memory::desc NodeHarness::Impl::absorbed_output(size_t k, dnnl::memory::desc desc, Shape& shape) {
  Shape in = resolve_batch(shape, opt.batch);
  for (size_t i = 0; i < k; ++i) {
    const auto& [op_name, reader_attrs] = opt.readers[i];
    std::unique_ptr<Node> fresh = registry->find(op_name)->make(reader_attrs);
    const Shape out = resolve_batch(fresh->infer({in}), opt.batch);
    DerivedStore derived(engine);  // planned for its descriptor only, never run
    desc = plan_frozen(*fresh, engine, opt.batch, in, out, desc, fresh->params({in}), derived);
    in = out;
  }
  if (k > 0) shape = in;
  return desc;
}

NodeHarness::CheckResult NodeHarness::check_against_reference() {
  Impl& m = *impl_;
  forward();
  const std::vector<float> actual = output();
  // The same op, planned as a trainable node with nothing offered.
  std::unique_ptr<Node> plain = m.info->make(m.attrs);
  const Shape plain_shape = plain->infer(m.input_shapes);
  DerivedStore derived(m.engine);  // its own: nothing the tested node made is reused
  PlanContext ctx(m.engine, m.opt.batch);
  ctx.derived = &derived;
  for (const Shape& s : m.input_shapes) ctx.input_shapes.push_back(resolve_batch(s, m.opt.batch));
  ctx.output_shape = resolve_batch(plain_shape, m.opt.batch);
  ctx.needs_input_grad = m.opt.needs_input_grad;
  ctx.batch_groups = m.opt.batch_groups;
  ctx.compute = m.opt.compute;
  for (size_t i = 0; i < m.inputs.size(); ++i) ctx.inputs.push_back(m.inputs[i].desc());
  for (const ParamSpec& spec : specs_) {
    ctx.params.push_back(plain_desc(spec.dims));
    ctx.param_layout_open.push_back(false);
  }
  const dnnl::memory::desc out_desc = plain->plan(ctx);
  std::vector<Tensor> inputs, input_grads, params, param_grads;
  Bindings b;
  for (size_t i = 0; i < m.inputs.size(); ++i) {
    inputs.emplace_back(ctx.inputs[i], m.engine);
    inputs.back().set_plain_values(input(i).data());
    input_grads.emplace_back(ctx.inputs[i], m.engine);
  }
  for (size_t i = 0; i < specs_.size(); ++i) {
    params.emplace_back(ctx.params[i], m.engine);
    params.back().set_plain_values(param(i).data());
    param_grads.emplace_back(ctx.params[i], m.engine);
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    b.inputs.push_back(&inputs[i]);
    b.input_grads.push_back(m.opt.needs_input_grad[i] ? &input_grads[i] : nullptr);
  }
  for (size_t i = 0; i < params.size(); ++i) {
    b.params.push_back(&params[i]);
    b.param_grads.push_back(specs_[i].kind == ParamSpec::Kind::weight ? &param_grads[i] : nullptr);
  }
  Tensor out(out_desc, m.engine), out_grad(out_desc, m.engine);
  b.output = &out;
  b.output_grad = &out_grad;
  plain->bind(b);
  ExecContext ectx(m.stream);
  ectx.mode = m.opt.mode;
  ectx.seed = m.opt.seed;
  plain->forward(ectx);
  m.stream.wait();
  std::vector<float> expected = out.plain_values();
  Shape per_sample = resolve_batch(plain_shape, m.opt.batch);
  for (size_t k = 0; k < m.absorbed; ++k) {  // the absorbed readers, each a node of its own
    Impl::Reader& r = m.readers[k];
    r.input.set_plain_values(expected.data());
    ExecContext rctx(m.stream);
    rctx.mode = Mode::eval;
    r.node->forward(rctx);
    m.stream.wait();
    expected = r.output.plain_values();
    const Shape dims = r.output.dims();
    per_sample = Shape(dims.begin() + 1, dims.end());
  }

  CheckResult result;
  if (expected.size() != actual.size()) throw Error("harness: the reference has another output size");
  const Shape& extent = m.opt.output_extent;
  const size_t per = expected.size() / size_t(m.opt.batch);
  for (size_t e = 0; e < expected.size(); ++e) {
    if (!extent.empty()) {  // inside the leading extent of every per-sample dim?
      size_t rest = e % per;
      bool inside = true;
      for (size_t d = per_sample.size(); d-- > 0;) {
        const int64_t at = int64_t(rest % size_t(per_sample[d]));
        rest /= size_t(per_sample[d]);
        inside = inside && at < extent.at(d);
      }
      if (!inside) continue;
    }
    const double a = actual[e], x = expected[e];
    const double err = std::isfinite(a) ? std::abs(a - x) / std::max({1.0, std::abs(a), std::abs(x)}) : INFINITY;
    ++result.checked;
    if (err > result.max_error) {
      result.max_error = err;
      result.worst = "output[" + std::to_string(e) + "]: " + std::to_string(a) + ", plainly " + std::to_string(x);
    }
  }
  return result;
}

}  // namespace graphrun
