// Session: scoring a split in evaluation mode, with verification and one-shot figures.
#include "train/session.hpp"

#include "data/random.hpp"
#include "eval/split_verification.hpp"
#include "train/feed.hpp"
#include "train/regularization.hpp"
#include "train/step_loop.hpp"

#include <graphrun/error.hpp>

namespace graphrun {

// A pair model scores every (query, support) pair: the per-epoch figure uses at most this
// many tasks, so that validation stays a small part of an epoch.
constexpr int64_t kValidationTasks = 100;

Metrics Session::evaluate(const std::string& name) { return evaluate_all(name).metrics; }

SplitFigures Session::evaluate_all(const std::string& name, bool final) {
  Split& s = split(name);
  SplitFigures f;
  f.metrics = output_metrics(*model_);
  const int label = label_input(*model_);
  const EvaluationSpec& e = model_->spec().evaluation;
  const bool binary = volume(model_->nodes()[model_->output()].shape) == 1;
  // A pair graph's scores on the split's own pairs come from this same pass.
  const bool pair_scores = binary && !s.data.class_balanced && model_->spec().data.strategy != "none" &&
                           e.embedding.empty() && (e.verify == "pairs" || !final);
  std::vector<float> scores;
  std::vector<uint8_t> same;
  const float same_label = model_->spec().data.same_label;
  s.loader->start_epoch(0);
  while (const data::Batch* b = s.loader->next()) {
    Plan& p = eval_plan(b->size);
    feed_batch(*model_, p, *b);
    p.forward(Mode::eval, 0);
    // As Keras's val_loss: the regularisation term included, as in the training loss.
    if (model_->loss() >= 0) f.metrics.add_loss(p.loss() + regularization_loss(model_->params()), b->size);
    if (label >= 0 && !s.data.class_balanced) f.metrics.add_batch(p.output(model_->output()), p.input(label).data(), b->size);
    if (pair_scores) {
      const float* out = p.output(model_->output());
      scores.insert(scores.end(), out, out + b->size);
      for (int64_t k = 0; k < b->size; ++k) same.push_back(b->label[size_t(k)] == same_label);
    }
  }
  eval::Scorer scorer = this->scorer();
  const bool has_both = std::count(same.begin(), same.end(), 1) > 0 && std::count(same.begin(), same.end(), 0) > 0;
  if (pair_scores && has_both) f.verification = eval::verify(scores, same, scorer.higher_is_same());
  else if (!e.embedding.empty() || (binary && e.verify == "all" && final))
    f.verification = eval::verify_split(scorer, s.data.images, s.data.pairs, e.verify == "all", data::mix_seed(seed_, 11));
  if (e.has_tasks && name != "train") {
    data::TaskSpec tasks = e.tasks;
    tasks.seed = data::mix_seed(e.tasks.seed, name == "validation" ? 2 : 3);
    if (!final) tasks.count = std::min<int64_t>(tasks.count, kValidationTasks);
    f.oneshot = eval::evaluate_tasks(scorer, s.data.images, data::draw_tasks(s.data.images, tasks));
  }
  return f;
}

eval::OneShotResult Session::evaluate_oneshot_runs() {
  const EvaluationSpec& e = model_->spec().evaluation;
  if (e.oneshot_runs.empty()) throw Error(model_->spec().file + ": the graph names no evaluation.oneshot_runs");
  if (!oneshot_runs_)
    oneshot_runs_ = std::make_unique<data::OneShotSet>(
        data::load_oneshot_runs(source_->resolve(e.oneshot_runs), source_->image_format(), options_.progress));
  eval::Scorer scorer = this->scorer();
  return eval::evaluate_tasks(scorer, oneshot_runs_->images, oneshot_runs_->tasks);
}

}  // namespace graphrun
