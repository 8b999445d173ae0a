#include "harness_impl.hpp"

#include "graph/infer_checks.hpp"

#include <graphrun/error.hpp>

#include <algorithm>
#include <cmath>

namespace graphrun {
namespace {

std::vector<float> to_plain(const Tensor& t) { return t.plain_values(); }

void from_plain(Tensor& t, const std::vector<float>& v) {
  if (static_cast<int64_t>(v.size()) != volume(t.dims())) throw Error("harness: wrong number of values");
  t.set_plain_values(v.data());
}

}  // namespace

NodeHarness::NodeHarness(const Registry& registry, const std::string& op, const Attributes& attrs,
                         const std::vector<Shape>& input_shapes, Options options)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.opt = std::move(options);
  m.registry = &registry;
  m.op = op;
  m.attrs = attrs;
  m.input_shapes = input_shapes;
  m.info = registry.find(op);
  if (!m.info) throw Error("harness: unknown op '" + op + "'");
  node_ = m.info->make(attrs);
  output_shape_ = node_->infer(input_shapes);
  specs_ = node_->params(input_shapes);
  check_inferred(*m.info, input_shapes, output_shape_, specs_);

  const size_t n = input_shapes.size();
  if (m.opt.needs_input_grad.empty()) m.opt.needs_input_grad.assign(n, true);
  const bool no_input_grad = std::none_of(m.opt.needs_input_grad.begin(), m.opt.needs_input_grad.end(), [](bool b) { return b; });
  const bool backward = !m.opt.frozen || !no_input_grad;
  if (!m.opt.output_extent.empty() && backward)
    throw Error("harness: an output extent is offered only to a node that runs no backward (frozen, no input gradients)");
  PlanContext ctx(m.engine, m.opt.batch);
  for (const Shape& s : input_shapes) ctx.input_shapes.push_back(resolve_batch(s, m.opt.batch));
  ctx.output_shape = output_shape();
  ctx.needs_input_grad = m.opt.needs_input_grad;
  ctx.batch_groups = m.opt.batch_groups;
  ctx.compute = m.opt.compute;
  ctx.needs_param_grad = !m.opt.frozen;
  m.derived = std::make_unique<DerivedStore>(m.engine);
  ctx.derived = m.derived.get();
  ctx.output_extent = m.opt.output_extent;
  if (!m.opt.readers.empty()) ctx.epilogue = m.prepare_readers(output_shape(), !backward);
  for (size_t i = 0; i < n; ++i) {
    Shape full{m.opt.batch};
    full.insert(full.end(), ctx.input_shapes[i].begin(), ctx.input_shapes[i].end());
    ctx.inputs.push_back(i < m.opt.input_layouts.size() ? m.opt.input_layouts[i] : plain_desc(full));
  }
  for (const ParamSpec& spec : specs_) {  // weights open to the node's layout, as in a first training plan
    ctx.params.push_back(plain_desc(spec.dims));
    ctx.param_layout_open.push_back(!m.opt.frozen && spec.kind == ParamSpec::Kind::weight);
  }
  dnnl::memory::desc out_desc = node_->plan(ctx);
  if (ctx.params.size() != specs_.size()) throw Error("harness: the node changed the number of parameter layouts");
  if (ctx.absorbed > ctx.epilogue.size()) throw Error("harness: the node absorbed more readers than were offered");
  m.absorbed = ctx.absorbed;
  out_desc = m.absorbed_output(m.absorbed, out_desc, output_shape_);

  std::mt19937 rng(static_cast<uint32_t>(m.opt.seed));
  std::uniform_real_distribution<float> uni(-1.f, 1.f);
  Bindings b;
  m.inputs.resize(n);
  m.input_grads.resize(n);
  for (size_t i = 0; i < n; ++i) {  // allocated in the layout the node asked for
    m.inputs[i] = Tensor(ctx.inputs[i], m.engine);
    if (m.opt.needs_input_grad[i]) m.input_grads[i] = Tensor(ctx.inputs[i], m.engine);
  }
  m.params.resize(specs_.size());
  m.param_grads.resize(specs_.size());
  for (size_t i = 0; i < specs_.size(); ++i) {
    m.params[i] = Tensor(ctx.params[i], m.engine);
    if (!m.opt.frozen && specs_[i].kind == ParamSpec::Kind::weight) m.param_grads[i] = Tensor(ctx.params[i], m.engine);
  }
  m.output = Tensor(out_desc, m.engine);
  m.output_grad = Tensor(out_desc, m.engine);
  for (size_t i = 0; i < n; ++i) {
    b.inputs.push_back(&m.inputs[i]);
    b.input_grads.push_back(m.opt.needs_input_grad[i] ? &m.input_grads[i] : nullptr);
    std::vector<float> v(volume(m.inputs[i].dims()));
    for (auto& x : v) x = uni(rng);
    from_plain(m.inputs[i], v);
  }
  for (size_t i = 0; i < specs_.size(); ++i) {
    b.params.push_back(&m.params[i]);
    b.param_grads.push_back(m.param_grads[i].empty() ? nullptr : &m.param_grads[i]);
    std::vector<float> v(size_t(volume(specs_[i].dims)));
    for (auto& x : v) x = uni(rng);
    m.params[i].set_plain_values(v.data());
  }
  b.output = &m.output;
  b.output_grad = backward ? &m.output_grad : nullptr;
  node_->bind(b);
}

NodeHarness::~NodeHarness() { node_.reset(); }

int64_t NodeHarness::batch() const { return impl_->opt.batch; }
size_t NodeHarness::absorbed() const { return impl_->absorbed; }

void NodeHarness::set_input(size_t i, const std::vector<float>& v) { from_plain(impl_->inputs[i], v); }
std::vector<float> NodeHarness::input(size_t i) const { return to_plain(impl_->inputs[i]); }
void NodeHarness::set_param(size_t i, const std::vector<float>& v) { from_plain(impl_->params[i], v); }
std::vector<float> NodeHarness::param(size_t i) const { return to_plain(impl_->params[i]); }
std::vector<float> NodeHarness::output() const { return to_plain(impl_->output); }
std::vector<float> NodeHarness::input_grad(size_t i) const { return to_plain(impl_->input_grads[i]); }
std::vector<float> NodeHarness::param_grad(size_t i) const { return to_plain(impl_->param_grads[i]); }

void NodeHarness::forward() {
  ExecContext ctx(impl_->stream);
  ctx.mode = impl_->opt.mode;
  ctx.seed = impl_->opt.seed;
  node_->forward(ctx);
  impl_->stream.wait();
}

void NodeHarness::backward(const std::vector<float>& output_grad) {
  from_plain(impl_->output_grad, output_grad);
  ExecContext ctx(impl_->stream);
  ctx.mode = impl_->opt.mode;
  ctx.seed = impl_->opt.seed;
  node_->backward(ctx);
  impl_->stream.wait();
}

NodeHarness::CheckResult NodeHarness::check_gradients(double eps, size_t max_entries) {
  Impl& m = *impl_;
  std::mt19937 rng(static_cast<uint32_t>(m.opt.seed + 7));
  std::uniform_real_distribution<float> uni(-1.f, 1.f);
  forward();
  std::vector<float> r(output().size());
  for (auto& x : r) x = uni(rng);
  auto objective = [&] {
    forward();
    std::vector<float> o = output();
    double l = 0;
    for (size_t k = 0; k < o.size(); ++k) l += double(r[k]) * o[k];
    return l;
  };
  backward(r);

  CheckResult result;
  auto check = [&](const std::string& label, std::vector<float> values, const std::vector<float>& analytic,
                   auto setter) {
    std::vector<size_t> idx(values.size());
    for (size_t k = 0; k < idx.size(); ++k) idx[k] = k;
    std::shuffle(idx.begin(), idx.end(), rng);
    idx.resize(std::min(max_entries, idx.size()));
    for (size_t k : idx) {
      const float saved = values[k];
      values[k] = saved + float(eps);
      setter(values);
      double up = objective();
      values[k] = saved - float(eps);
      setter(values);
      double down = objective();
      values[k] = saved;
      setter(values);
      double numeric = (up - down) / (2 * eps);
      double a = analytic[k];
      double err = std::abs(a - numeric) / std::max({1.0, std::abs(a), std::abs(numeric)});
      ++result.checked;
      if (err > result.max_error) {
        result.max_error = err;
        result.worst = label + "[" + std::to_string(k) + "]: analytic " + std::to_string(a) + ", numeric " +
                       std::to_string(numeric);
      }
    }
  };
  std::vector<std::vector<float>> in_grads, p_grads;
  for (size_t i = 0; i < m.inputs.size(); ++i)
    in_grads.push_back(m.opt.needs_input_grad[i] ? input_grad(i) : std::vector<float>{});
  for (size_t i = 0; i < m.params.size(); ++i)
    p_grads.push_back(m.param_grads[i].empty() ? std::vector<float>{} : param_grad(i));
  for (size_t i = 0; i < m.inputs.size(); ++i)
    if (m.opt.needs_input_grad[i])
      check("input " + std::to_string(i), input(i), in_grads[i], [&](const std::vector<float>& v) { set_input(i, v); });
  for (size_t i = 0; i < m.params.size(); ++i)
    if (!m.param_grads[i].empty())
      check("param " + specs_[i].name, param(i), p_grads[i], [&](const std::vector<float>& v) { set_param(i, v); });
  return result;
}

}  // namespace graphrun
