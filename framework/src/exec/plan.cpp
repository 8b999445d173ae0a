#include "exec/plan.hpp"

#include "exec/memory_check.hpp"
#include "exec/plan_steps.hpp"

#include <graphrun/error.hpp>

#include <algorithm>

namespace graphrun {

Plan::Plan(Model& model, int64_t batch, bool verbose, Purpose purpose)
    : model_(model), batch_(batch), verbose_(verbose), purpose_(purpose), stream_(model.engine()) {
  const auto& nodes = model_.nodes();
  const int n = static_cast<int>(nodes.size());
  for (int i = 0; i < n; ++i) {
    auto s = std::make_unique<Step>();
    s->def = &nodes[i];
    s->batch = batch_ * nodes[i].batch_factor;
    for (int p : nodes[i].params) s->needs_grad = s->needs_grad || model_.params()[p].trainable;
    for (int in : nodes[i].inputs) s->needs_grad = s->needs_grad || steps_[in]->needs_grad;
    steps_.push_back(std::move(s));
  }
  if (model_.loss() >= 0) {
    steps_[model_.loss()]->on_loss_path = true;
    for (int i = n - 1; i >= 0; --i)
      if (steps_[i]->on_loss_path)
        for (int in : nodes[i].inputs) steps_[in]->on_loss_path = true;
  }
  for (auto& s : steps_) s->run_backward = purpose_ == Purpose::training && s->on_loss_path && s->needs_grad;
  std::vector<bool> backward;
  for (auto& s : steps_) backward.push_back(s->run_backward);
  check_plan_memory(model_, batch_, backward);
  readers_.assign(n, {});
  for (int i = 0; i < n; ++i)
    for (size_t j = 0; j < nodes[i].inputs.size(); ++j) readers_[nodes[i].inputs[j]].push_back({i, j});
  for (int i = 0; i < n; ++i) {
    if (nodes[i].role != NodeDef::Role::op) continue;
    steps_[i]->node = nodes[i].info->make(nodes[i].attrs);
    steps_[i]->node->infer(nodes[i].input_shapes);
  }
  for (int i = 0; i < n; ++i) plan_node(i);
  plan_gradients();
  warm_up();
}

// Runs every primitive once on zero inputs: oneDNN generates some kernels (gemm's among
// them) on their first execution, which took up to 117 ms for one R3 layer. Moving
// statistics and other node state are restored afterwards; gradients are overwritten by
// the next step anyway.
void Plan::warm_up() {
  std::vector<std::pair<Tensor*, std::vector<float>>> saved;
  for (auto& p : model_.params())
    if (p.spec.kind == ParamSpec::Kind::state)
      saved.emplace_back(&p.value, std::vector<float>(p.value.data(), p.value.data() + p.value.size()));
  for (int id : model_.graph_inputs()) steps_[id]->out.fill(0.f);
  if (purpose_ == Purpose::training) forward(Mode::train, 0);
  if (purpose_ == Purpose::training && model_.loss() >= 0) {
    backward(0);
    reduce_gradients();
  }
  forward(Mode::eval, 0);
  for (auto& [tensor, values] : saved) std::copy(values.begin(), values.end(), tensor->data());
}

Plan::~Plan() = default;

// A batched tower's input: every use's input copied into its slice of one tensor, or,
// for a graph input nobody else reads, made that slice itself (the batch is fed in place).
void Plan::plan_stack(int id) {
  Step& s = *steps_[id];
  const NodeDef& d = *s.def;
  const int64_t per = volume(d.shape);
  Shape full{s.batch}, part{batch_};
  full.insert(full.end(), d.shape.begin(), d.shape.end());
  part.insert(part.end(), d.shape.begin(), d.shape.end());
  s.out = Tensor(plain_desc(full), model_.engine());
  s.converted.resize(d.inputs.size());
  s.convert.resize(d.inputs.size());
  s.gather.resize(d.inputs.size());
  for (size_t j = 0; j < d.inputs.size(); ++j) {
    Step& producer = *steps_[d.inputs[j]];
    if (producer.needs_grad) throw Error("internal: a batched tower's input needs a gradient");
    s.parts.push_back(Tensor::view(s.out, plain_desc(part), size_t(j * batch_ * per)));
    s.input_descs.push_back(plain_desc(part));
    const bool feed_in_place =
        !producer.def->feed.empty() && readers_[d.inputs[j]].size() == 1 && is_plain(producer.out.desc());
    if (feed_in_place)
      producer.out = s.parts.back();
    else
      s.gather[j] = dnnl::reorder(producer.out.memory(), s.parts.back().memory());
  }
  s.wants_input_grad.assign(d.inputs.size(), false);
  s.input_grads.assign(d.inputs.size(), nullptr);
}

// One use's output of a batched tower: its slice of the tower's (plain) output.
void Plan::plan_split(int id) {
  Step& s = *steps_[id];
  const NodeDef& d = *s.def;
  Step& producer = *steps_[d.inputs[0]];
  Shape full{producer.batch}, part{batch_};
  full.insert(full.end(), d.shape.begin(), d.shape.end());
  part.insert(part.end(), d.shape.begin(), d.shape.end());
  s.input_descs = {plain_desc(full)};
  s.converted.resize(1);
  s.convert.resize(1);
  if (producer.out.desc() != plain_desc(full)) {
    s.converted[0] = Tensor(plain_desc(full), model_.engine());
    s.convert[0] = dnnl::reorder(producer.out.memory(), s.converted[0].memory());
  }
  Tensor& base = s.converted[0].empty() ? producer.out : s.converted[0];
  s.out = Tensor::view(base, plain_desc(part), size_t(d.part * batch_ * volume(d.shape)));
  s.wants_input_grad = {false};  // the gradient slices are laid out by plan_gradients
  s.input_grads = {nullptr};
}

void Plan::plan_node(int id) {
  Step& s = *steps_[id];
  const NodeDef& d = *s.def;
  if (d.role == NodeDef::Role::stack) return plan_stack(id);
  if (d.role == NodeDef::Role::split) return plan_split(id);
  PlanContext ctx(model_.engine(), s.batch);
  for (const Shape& in : d.input_shapes) ctx.input_shapes.push_back(resolve_batch(in, batch_));
  ctx.output_shape = resolve_batch(d.shape, batch_);
  ctx.needs_param_grad = d.trainable && purpose_ == Purpose::training;
  ctx.verbose = verbose_;
  // Inference plans compute as training does: validation then scores the arithmetic that
  // was trained.
  ctx.compute = model_.spec().train.precision == "bf16" ? dnnl::memory::data_type::bf16 : dnnl::memory::data_type::f32;
  ctx.derived = &model_.derived(id);
  ctx.batch_groups = d.batch_factor;
  for (int in : d.inputs) {
    ctx.inputs.push_back(steps_[in]->out.desc());
    ctx.needs_input_grad.push_back(s.run_backward && steps_[in]->needs_grad);
  }
  std::vector<int> readers;
  ctx.epilogue = epilogue_offer(id, readers);
  ctx.output_extent = read_extent(id);
  s.partial = !ctx.output_extent.empty();
  auto& params = model_.params();
  for (int p : d.params) {
    Parameter& prm = params[size_t(p)];
    ctx.params.push_back(prm.value.desc());
    ctx.param_layout_open.push_back(s.run_backward && d.trainable && prm.trainable && !prm.layout_fixed);
    prm.layout_fixed = true;  // its first user decides, in the first plan that binds it
  }
  dnnl::memory::desc out_desc;
  try {
    out_desc = s.node->plan(ctx);
  } catch (const dnnl::error& e) {
    throw Error(d.where + ": node '" + d.name + "' (" + d.op + "): oneDNN could not create a primitive: " + e.what());
  }
  if (out_desc.dims().empty())
    throw Error(d.where + ": node '" + d.name + "' (" + d.op + "): its plugin planned no output (an empty memory descriptor)");
  for (size_t k = 0; k < d.params.size(); ++k) {
    Parameter& prm = params[size_t(d.params[k])];
    if (ctx.params.at(k) == prm.value.desc()) continue;
    if (!ctx.param_layout_open[k])
      throw Error(d.where + ": node '" + d.name + "' (" + d.op + "): its plugin changed the layout of parameter '" +
                  prm.name + "', which was not open to change");
    relayout(prm, ctx.params[k]);
    log_implementation(verbose_, d.name + " (" + d.op + ")", "parameter " + prm.name + " kept in the layout its primitives use");
  }
  if (ctx.absorbed > readers.size())
    throw Error(d.where + ": node '" + d.name + "' (" + d.op + "): its plugin absorbed more readers than were offered");
  for (size_t k = 0; k < ctx.absorbed; ++k) {
    steps_[readers[k]]->folded_into = id;
    log_implementation(verbose_, model_.nodes()[readers[k]].name + " (" + model_.nodes()[readers[k]].op + ")",
                       "folded into " + d.name);
  }
  if (ctx.absorbed > 0) s.fused_output = readers[ctx.absorbed - 1];
  s.input_descs = ctx.inputs;
  s.converted.resize(d.inputs.size());
  s.convert.resize(d.inputs.size());
  for (size_t j = 0; j < d.inputs.size() && s.folded_into < 0; ++j) {
    Tensor& produced = steps_[d.inputs[j]]->out;
    if (ctx.inputs[j] == produced.desc()) continue;
    s.converted[j] = Tensor(ctx.inputs[j], model_.engine());
    s.convert[j] = dnnl::reorder(produced.memory(), s.converted[j].memory());
  }
  // A folded node never runs: its output is its producer's where they are alike, else
  // its own tensor, which the node it is folded into writes.
  const Tensor& producer_out = d.inputs.empty() ? s.out : steps_[d.inputs[0]]->out;
  if (s.folded_into >= 0 && out_desc == producer_out.desc()) {
    s.out = producer_out;
  } else if (ctx.output_aliases_input) {
    Tensor& in = s.converted[0].empty() ? steps_[d.inputs[0]]->out : s.converted[0];
    if (out_desc.get_size() != in.desc().get_size())
      throw Error(d.where + ": node '" + d.name + "' (" + d.op + "): its plugin aliased an output of another size");
    s.out = Tensor::view(in, out_desc, 0);
    s.aliased = true;
  } else {
    s.out = Tensor(out_desc, model_.engine());
  }
  // A producer that absorbed its readers reads the last one's output gradient instead.
  if (s.run_backward && s.fused_output < 0) s.out_grad = Tensor(out_desc, model_.engine());
  if (id == model_.loss() && !s.out_grad.empty()) s.out_grad.fill(1.f);
  if (!is_plain(out_desc)) {
    s.plain = Tensor(plain_desc(s.out.dims()), model_.engine());
    s.to_plain = dnnl::reorder(s.out.memory(), s.plain.memory());
  }
  s.input_grads.assign(d.inputs.size(), nullptr);
  s.param_grads.assign(d.params.size(), nullptr);
  // A folded node never runs backward: the node it is folded into computes its gradient.
  s.wants_input_grad = s.folded_into >= 0 ? std::vector<bool>(d.inputs.size(), false) : ctx.needs_input_grad;
}

Tensor& Plan::input(int node) { return steps_[node]->out; }

size_t Plan::gradient_bytes() const {
  size_t bytes = 0;
  for (const auto& s : steps_) {
    if (s->node && !s->out_grad.empty()) bytes += s->out_grad.desc().get_size();  // splits hold views
    if (s->grad_in)
      for (const Tensor& t : s->grad_in->sources) bytes += t.desc().get_size();
  }
  for (const auto& slot : param_slots_)
    for (const Tensor& t : slot->sources) bytes += t.desc().get_size();
  return bytes;
}

Shape Plan::output_shape(int node) const { return resolve_batch(steps_[size_t(node)]->def->shape, batch_); }

void Plan::forward(Mode mode, uint64_t seed, int last_node) {
  if (mode == Mode::train && purpose_ == Purpose::inference)
    throw Error("internal: an inference plan was asked to run in train mode");
  const size_t end = last_node >= 0 ? std::min(steps_.size(), size_t(last_node) + 1) : steps_.size();
  for (size_t i = 0; i < end; ++i) {
    Step& s = *steps_[i];
    if (s.folded_into >= 0) continue;
    for (size_t j = 0; j < s.convert.size(); ++j)
      if (!s.converted[j].empty())
        s.convert[j].execute(stream_, steps_[s.def->inputs[j]]->out.memory(), s.converted[j].memory());
    for (size_t j = 0; j < s.gather.size(); ++j)
      if (s.gather[j]) s.gather[j].execute(stream_, steps_[s.def->inputs[j]]->out.memory(), s.parts[j].memory());
    if (!s.node || s.aliased) continue;
    // A frozen node computes as at inference (batch_norm uses its running statistics).
    ExecContext ctx(stream_);
    ctx.mode = s.def->trainable ? mode : Mode::eval;
    ctx.seed = seed ^ ((i + 1) * 0x9E3779B97F4A7C15ull);
    s.node->forward(ctx);
  }
  stream_.wait();
}

void Plan::backward(uint64_t seed) {
  if (purpose_ == Purpose::inference) throw Error("internal: an inference plan was asked to run backward");
  for (size_t i = steps_.size(); i-- > 0;) {
    Step& s = *steps_[i];
    if (!s.run_backward) continue;
    if (s.grad_in) s.grad_in->run(stream_);
    if (!s.node || s.folded_into >= 0) continue;
    ExecContext ctx(stream_);
    ctx.mode = s.def->trainable ? Mode::train : Mode::eval;
    ctx.seed = seed ^ ((i + 1) * 0x9E3779B97F4A7C15ull);
    s.node->backward(ctx);
  }
  stream_.wait();
}

float Plan::loss() const {
  if (model_.loss() < 0) throw Error("the graph has no loss node");
  return steps_[model_.loss()]->out.data()[0];
}

const float* Plan::output(int node) {
  Step& s = *steps_[node];
  // Where a chain of nodes is computed by its first, only the last one's output exists.
  if (s.fused_output >= 0 || (s.folded_into >= 0 && steps_[size_t(s.folded_into)]->fused_output != node))
    throw Error("node '" + s.def->name + "': its output is not kept, a later node folded into the same one is");
  if (s.partial) throw Error("node '" + s.def->name + "': only the part of its output its readers use is computed");
  if (s.plain.empty()) return s.out.data();
  s.to_plain.execute(stream_, s.out.memory(), s.plain.memory());
  stream_.wait();
  return s.plain.data();
}

std::vector<std::string> Plan::implementations() const {
  std::vector<std::string> out;
  for (const auto& s : steps_)
    if (s->folded_into >= 0)
      out.push_back(s->def->name + ": folded into " + steps_[size_t(s->folded_into)]->def->name);
    else if (s->node)
      for (const auto& impl : s->node->implementations()) out.push_back(s->def->name + ": " + impl);
  return out;
}

}  // namespace graphrun
