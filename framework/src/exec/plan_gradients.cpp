// Plan: where every activation and parameter gradient is written, and how the gradients
// of tensors read several times are summed.
#include "exec/plan_steps.hpp"

#include <graphrun/error.hpp>

namespace graphrun {

void Plan::plan_gradients() {
  const auto& nodes = model_.nodes();
  auto& params = model_.params();
  // A batched tower's output gradient: each use's split writes its own slice of it.
  for (size_t c = 0; c < steps_.size(); ++c) {
    Step& split = *steps_[c];
    if (nodes[c].role != NodeDef::Role::split || !split.run_backward) continue;
    Step& producer = *steps_[nodes[c].inputs[0]];
    if (!producer.run_backward) continue;
    const dnnl::memory::desc whole = split.input_descs[0];
    if (producer.out_grad.desc() != whole && !producer.grad_in) {  // blocked: gather plain, then reorder
      producer.grad_in = std::make_unique<Slot>();
      producer.grad_in->sources.emplace_back(whole, model_.engine());
      producer.grad_in->prepare(producer.out_grad, model_.engine());
    }
    Tensor& base = producer.grad_in ? producer.grad_in->sources[0] : producer.out_grad;
    split.out_grad = Tensor::view(base, split.out.desc(), size_t(nodes[c].part) * split.out.size());
  }
  // Activation gradients: each producer gathers what its consumers write.
  std::vector<std::vector<std::pair<int, size_t>>> consumers(steps_.size());
  for (size_t c = 0; c < steps_.size(); ++c)
    for (size_t j = 0; j < nodes[c].inputs.size(); ++j)
      if (steps_[c]->wants_input_grad[j]) consumers[nodes[c].inputs[j]].push_back({int(c), j});
  for (size_t p = 0; p < steps_.size(); ++p) {
    auto& list = consumers[p];
    if (list.empty()) continue;
    Step& producer = *steps_[p];
    if (list.size() == 1 && steps_[list[0].first]->input_descs[list[0].second] == producer.out_grad.desc()) {
      steps_[list[0].first]->input_grads[list[0].second] = &producer.out_grad;
      continue;
    }
    producer.grad_in = std::make_unique<Slot>();
    producer.grad_in->sources.reserve(list.size());
    for (auto [c, j] : list) {
      producer.grad_in->sources.emplace_back(steps_[c]->input_descs[j], model_.engine());
      steps_[c]->input_grads[j] = &producer.grad_in->sources.back();
    }
    producer.grad_in->prepare(producer.out_grad, model_.engine());
  }
  // Parameter gradients: one use writes in place; shared uses are summed afterwards.
  std::vector<std::vector<std::pair<int, size_t>>> users(params.size());
  for (size_t i = 0; i < steps_.size(); ++i) {
    if (!steps_[i]->run_backward || !nodes[i].trainable) continue;
    for (size_t k = 0; k < nodes[i].params.size(); ++k)
      if (params[nodes[i].params[k]].trainable) users[nodes[i].params[k]].push_back({int(i), k});
  }
  for (size_t p = 0; p < params.size(); ++p) {
    if (users[p].empty()) continue;
    if (users[p].size() == 1) {
      steps_[users[p][0].first]->param_grads[users[p][0].second] = &params[p].grad;
      continue;
    }
    auto slot = std::make_unique<Slot>();
    slot->sources.reserve(users[p].size());
    for (auto [i, k] : users[p]) {
      slot->sources.emplace_back(params[p].grad.desc(), model_.engine());
      steps_[i]->param_grads[k] = &slot->sources.back();
    }
    slot->prepare(params[p].grad, model_.engine());
    param_slots_.push_back(std::move(slot));
  }
  for (size_t i = 0; i < steps_.size(); ++i) {
    Step& s = *steps_[i];
    if (!s.node) continue;
    Bindings b;
    for (size_t j = 0; j < nodes[i].inputs.size(); ++j)
      b.inputs.push_back(s.converted[j].empty() ? &steps_[nodes[i].inputs[j]]->out : &s.converted[j]);
    b.input_grads = s.input_grads;
    b.output = s.fused_output >= 0 ? &steps_[size_t(s.fused_output)]->out : &s.out;
    if (s.run_backward) b.output_grad = s.fused_output >= 0 ? &steps_[size_t(s.fused_output)]->out_grad : &s.out_grad;
    for (int p : nodes[i].params) {
      b.params.push_back(&params[p].value);
      params[p].layout_fixed = true;
    }
    b.param_grads = s.param_grads;
    s.node->bind(b);
  }
}

void Plan::reduce_gradients() {
  for (auto& slot : param_slots_) slot->run(stream_);
  stream_.wait();
}

}  // namespace graphrun
