#include "train/step_loop.hpp"

#include "data/random.hpp"
#include "train/feed.hpp"
#include "train/regularization.hpp"

#include <graphrun/error.hpp>

#include <algorithm>
#include <cmath>
#include <string>

namespace graphrun {

// Cosine decays from 1 to min_fraction over the run; step multiplies by drop every `every` epochs.
double learning_rate_factor(const TrainSpec& t, int64_t epoch, double elapsed_seconds) {
  if (t.schedule == "cosine") {
    double done = double(epoch) / double(t.epochs);
    if (t.schedule_over == "time") done = std::max(done, std::min(1.0, elapsed_seconds / (60 * t.max_minutes)));
    return t.schedule_min + (1 - t.schedule_min) * 0.5 * (1 + std::cos(M_PI * done));
  }
  if (t.schedule == "step") return std::pow(t.schedule_drop, double(epoch / t.schedule_every));
  return 1.0;
}

Metrics output_metrics(const Model& model) {
  const float same_label = model.spec().data.same_label;
  return Metrics::for_output(model.nodes()[model.output()].shape, same_label,
                             model.spec().evaluation.higher_is_same(same_label));
}

StepLoop::StepLoop(Model& model, Optimizer& optimizer, Plans plans, uint64_t seed, int64_t steps_done, bool score)
    : model_(model),
      optimizer_(optimizer),
      plans_(std::move(plans)),
      base_lr_(optimizer.learning_rate()),
      seed_(seed),
      label_(label_input(model)),
      score_(score),
      metrics_(output_metrics(model)),
      steps_done_(steps_done) {}

void StepLoop::start_epoch(data::BatchLoader& loader, int64_t epoch, int64_t first, double factor, double elapsed_seconds) {
  optimizer_.set_learning_rate(base_lr_ * learning_rate_factor(model_.spec().train, epoch, elapsed_seconds) * factor);
  loader.start_epoch(epoch, first);
  loader_ = &loader;
  epoch_ = epoch;
  epoch_step_ = first;
}

int64_t StepLoop::step() {
  if (!loader_) throw Error("internal: a training step before start_epoch");
  const data::Batch* b = loader_->next();
  if (!b) return 0;
  Plan& p = plans_(b->size);
  feed_batch(model_, p, *b);
  const uint64_t step_seed = data::mix_seed(seed_ ^ 0x5eed, uint64_t(steps_done_));
  p.forward(Mode::train, step_seed);
  const float loss = p.loss();
  if (!std::isfinite(loss))
    throw Error("training diverged: the loss is " + std::to_string(loss) + " at epoch " + std::to_string(epoch_ + 1) +
                ", step " + std::to_string(epoch_step_ + 1) + " (try a smaller learning rate)");
  p.backward(step_seed);
  p.reduce_gradients();
  add_l2_gradients(model_.params());
  optimizer_.step(model_.params());
  ++steps_done_;
  ++epoch_step_;
  // The L2 term of the weights after the step, as the loss has always been reported.
  metrics_.add_loss(loss + regularization_loss(model_.params()), b->size);
  if (label_ >= 0 && score_) metrics_.add_batch(p.output(model_.output()), p.input(label_).data(), b->size);
  return b->size;
}

}  // namespace graphrun
