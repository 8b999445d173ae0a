#include "train/session.hpp"

#include "data/random.hpp"
#include "train/callbacks.hpp"
#include "train/chance_warning.hpp"
#include "train/stall_warning.hpp"
#include "train/checks.hpp"
#include "train/precision.hpp"
#include "train/feed.hpp"
#include "train/history.hpp"
#include "train/progress.hpp"
#include "train/thread_governor.hpp"
#include "train/threads.hpp"
#include "train/run_state.hpp"
#include "train/signals.hpp"
#include "train/step_loop.hpp"

#include <graphrun/error.hpp>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace graphrun {

namespace fs = std::filesystem;

Session::Session(const std::string& graph_path, const Registry& registry, SessionOptions options)
    : options_(std::move(options)), engine_(dnnl::engine::kind::cpu, 0) {
  GraphSpec spec = load_graph_spec(graph_path);
  graph_hash_ = file_hash(graph_path);
  std::optional<Checkpoint> resume;
  if (!options_.resume_dir.empty()) resume = open_resume(spec);
  seed_ = options_.seed.value_or(spec.train.seed);
  if (options_.epochs) spec.train.epochs = *options_.epochs;
  if (!options_.data_path.empty()) spec.data.paths = {options_.data_path};
  if (!options_.precision.empty()) {
    if (options_.precision != "f32" && options_.precision != "bf16")
      throw Error("--precision must be f32 or bf16, got '" + options_.precision + "'");
    spec.train.precision = options_.precision;
    spec.train.precision_where = "--precision";
  }
  model_ = std::make_unique<Model>(std::move(spec), registry, engine_);
  check_pair_strategy(*model_);
  check_precision(model_->spec().train, model_->spec().file, cpu_flags());
  model_->initialize(seed_);
  load_node_weights();
  const TrainSpec& t = model_->spec().train;
  if (t.threads > 0) options_.adaptive_threads = false;
  optimizer_ = make_optimizer(t.optimizer, t.optimizer_args);
  source_ = std::make_unique<DataSource>(*model_, seed_, options_.progress);
  if (model_->spec().evaluation.present) {
    (void)scorer();  // names the embedding node now, not after training
    if (model_->spec().evaluation.views.enabled() && model_->spec().data.present)
      check_evaluation_views(*model_, source_->image_format());
  }
  out_dir_ = options_.out_dir.empty() ? "runs/" + model_->spec().name : options_.out_dir;
  if (resume) load_tensors(*resume, out_dir_ + "/last.safetensors");
}

Session::~Session() = default;

// Primitives keep the thread count they were created for: each count has its own plans.
Plan& Session::plan(int64_t batch) { return make_plan(batch, Plan::Purpose::training); }

Plan& Session::eval_plan(int64_t batch) {
  auto it = plans_.find({batch, threads(), Plan::Purpose::training});
  return it != plans_.end() ? *it->second : make_plan(batch, Plan::Purpose::inference);
}

Plan& Session::make_plan(int64_t batch, Plan::Purpose purpose) {
  const auto key = std::make_tuple(batch, threads(), purpose);
  auto it = plans_.find(key);
  if (it != plans_.end()) return *it->second;
  auto p = std::make_unique<Plan>(*model_, batch, options_.verbose, purpose);
  if (options_.verbose)
    for (const auto& impl : p->implementations())
      std::fprintf(stderr, "[graphrun] batch %lld%s %s\n", (long long)batch,
                   purpose == Plan::Purpose::inference ? " (inference)" : "", impl.c_str());
  return *plans_.emplace(key, std::move(p)).first->second;
}

Session::Split& Session::split(const std::string& name) {
  auto it = splits_.find(name);
  if (it != splits_.end()) return *it->second;
  auto split = std::make_unique<Split>();
  split->data = source_->split(name);
  const TrainSpec& t = model_->spec().train;
  const DataSpec& d = model_->spec().data;
  const bool training = name == "train";
  SplitData& s = split->data;
  int64_t batch = training ? t.batch_size : (t.eval_batch_size ? t.eval_batch_size : t.batch_size);
  if (s.class_balanced) batch = s.batches.batch_size();  // the batch is the classes x images the sampler draws
  const uint64_t loader_seed = data::mix_seed(seed_, 4);
  split->loader = std::make_unique<data::BatchLoader>(s.images, s.pairs, batch, training && !s.class_balanced, loader_seed);
  if (training && s.class_balanced) {
    const std::vector<int32_t>* labels = &s.images.labels;
    const data::ClassBatches spec = s.batches;
    const uint64_t draw_seed = data::mix_seed(seed_, 1);
    split->loader->set_epoch_pairs(
        [labels, spec, draw_seed](int64_t epoch) { return data::class_balanced_epoch(*labels, spec, draw_seed, epoch); });
  }
  if (training && d.augment.enabled()) split->loader->set_augment(d.augment, data::mix_seed(seed_, 5));
  return *splits_.emplace(name, std::move(split)).first->second;
}

// The training batch: its plan exists already, and the scorer pads a short last chunk, so
// scoring makes no plan of its own (a Koch-sized plan per batch size ran to gigabytes).
eval::Scorer Session::scorer() {
  const TrainSpec& t = model_->spec().train;
  const DataSpec& d = model_->spec().data;
  const int64_t batch = d.strategy == "class_balanced" ? d.batch_classes * d.images_per_class : t.batch_size;
  return eval::Scorer(*model_, [this](int64_t b) -> Plan& { return eval_plan(b); }, batch);
}

// The figures of one epoch that a monitor may name, from the validation pass.
std::map<std::string, double> Session::validation_figures(EpochRecord& r) {
  // Class-balanced batches train an embedding: its output has no accuracy to report.
  std::map<std::string, double> f{{"loss", r.loss}};
  if (!std::isnan(r.accuracy)) f["accuracy"] = r.accuracy;
  if (model_->spec().evaluation.oneshot_runs_each_epoch) f["test_oneshot_runs"] = evaluate_oneshot_runs().accuracy;
  if (!r.has_validation) return f;
  SplitFigures v = evaluate_all("validation", false);
  r.val_loss = v.metrics.loss();
  r.val_accuracy = v.metrics.count() > 0 ? v.metrics.accuracy() : NAN;
  f["val_loss"] = r.val_loss;
  if (!std::isnan(r.val_accuracy)) f["val_accuracy"] = r.val_accuracy;
  if (v.verification) f["val_auc"] = v.verification->auc, f["val_eer"] = v.verification->eer;
  if (v.oneshot) f["val_oneshot"] = v.oneshot->accuracy;
  return f;
}

// A figure a callback monitors must exist from the first epoch on.
static double monitored(const std::map<std::string, double>& f, const std::string& name, const std::string& file) {
  auto it = f.find(name);
  if (it == f.end()) {
    std::string have;
    for (const auto& [k, v] : f) have += (have.empty() ? "" : ", ") + k;
    throw Error(file + ": train monitors '" + name + "', which this graph does not record (it records " + have + ")");
  }
  return it->second;
}

static double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

std::vector<EpochRecord> Session::train() {
  if (!model_->has_trainable_params()) throw Error(model_->spec().file + ": the graph has no trainable parameters; use graphrun eval");
  if (model_->loss() < 0) throw Error(model_->spec().file + ": training needs a loss: name the loss node with 'loss:'");
  const TrainSpec& t = model_->spec().train;
  const std::string& file = model_->spec().file;
  Split& train = split("train");
  const bool has_val = model_->spec().data.validation.present;
  if (has_val) split("validation");
  prepare_run_folder(out_dir_);

  // A resumed run goes on from its checkpoint: same data, same callbacks' counters.
  RunState run = resumed_ ? *resumed_ : RunState{};
  const std::string data = data_hash(train.data.images, train.data.pairs);
  if (resumed_ && run.data_hash != data)
    throw Error(out_dir_ + "/last.safetensors: the training data differs from the run's (other images, labels or pairs: "
                "is --data another folder?)");
  run.data_hash = data;
  run.epochs = t.epochs;
  History history(out_dir_ + "/history.csv", run.records);

  std::optional<EarlyStopping> stopper;
  if (t.early_stopping.present) stopper.emplace(t.early_stopping.monitor, t.early_stopping.min_delta, t.early_stopping.patience);
  std::optional<ReduceLROnPlateau> plateau;
  if (const PlateauSpec& p = t.reduce_lr_on_plateau; p.present)
    plateau.emplace(p.monitor, p.factor, p.patience, p.min_delta, p.cooldown, p.min_lr);
  if (stopper && run.stopper) stopper->restore(*run.stopper);
  if (plateau && run.plateau) plateau->restore(*run.plateau);

  const int64_t steps = t.steps_per_epoch ? std::min(t.steps_per_epoch, train.loader->batches_per_epoch())
                                          : train.loader->batches_per_epoch();
  StepLoop loop(*model_, *optimizer_, [this](int64_t b) -> Plan& { return plan(b); }, seed_, step_,
                !train.data.class_balanced);
  const int64_t first_epoch = run.epoch, first_step = std::min(run.epoch_step, steps);
  const double elapsed_before = run.elapsed_seconds;
  const auto run_start = std::chrono::steady_clock::now();
  ThreadGovernor governor(threads(), options_.adaptive_threads, options_.progress);
  const int64_t out_size = volume(model_->nodes()[model_->output()].shape);
  StallWatch stall;
  ChanceWatch chance(label_input(*model_) < 0 || train.data.class_balanced ? 0 : out_size == 1 ? 2 : out_size);
  // last.safetensors: epoch and step done, the epoch's sums so far, the callbacks' state.
  auto checkpoint = [&](int64_t epoch, int64_t done, const Metrics* m, double epoch_seconds) {
    run.epoch = epoch;
    run.epoch_step = done;
    run.sums = m ? m->sums() : Metrics::Sums{};
    run.epoch_seconds = epoch_seconds;
    run.elapsed_seconds = elapsed_before + seconds_since(run_start);
    if (stopper) run.stopper = stopper->state();
    if (plateau) run.plateau = plateau->state();
    save_run(run);
  };
  InterruptGuard interrupts;
  for (int64_t epoch = first_epoch; epoch < t.epochs && !run.stopped; ++epoch) {
    const int64_t first = epoch == first_epoch ? first_step : 0;
    const auto start = std::chrono::steady_clock::now();
    const double carried = first > 0 ? run.epoch_seconds : 0;  // the interrupted part of the epoch
    Progress bar(options_.progress, epoch + 1, t.epochs, steps);
    loop.reset_metrics();
    Metrics& m = loop.metrics();
    if (first > 0) m.restore(run.sums);
    // A resumed epoch keeps the learning rate it started with (its start's elapsed time).
    const double epoch_start = elapsed_before + seconds_since(run_start) - carried;
    loop.start_epoch(*train.loader, epoch, first, run.plateau_factor, epoch_start);
    for (int64_t i = first; i < steps; ++i) {
      const auto step_start = std::chrono::steady_clock::now();
      if (!loop.step()) break;
      step_ = loop.steps_done();
      bar.update(i + 1, m.loss(), train.data.class_balanced ? NAN : m.accuracy());
      governor.after_step(std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start).count());
      const int signal = interrupts.pending();
      if (signal || (t.checkpoint_every_steps > 0 && step_ % t.checkpoint_every_steps == 0))
        checkpoint(epoch, i + 1, &m, carried + seconds_since(start));
      if (signal) throw Interrupted{signal, epoch + 1, i + 1};
    }
    EpochRecord r{epoch + 1, m.loss(), train.data.class_balanced ? NAN : m.accuracy(), 0, 0, 0, has_val, optimizer_->learning_rate(), {}};
    r.figures = validation_figures(r);
    r.seconds = carried + seconds_since(start);
    bar.finish(r.figures, r.seconds);
    history.append(r);
    run.records.push_back(r);
    if (auto warning = chance.after_epoch(r.epoch, r.loss, r.accuracy)) std::fprintf(stderr, "%s\n", warning->c_str());
    if (auto warning = stall.after_epoch(r.epoch, r.loss, loop.rate_factor())) std::fprintf(stderr, "%s\n", warning->c_str());

    bool stop = false;
    if (stopper) {
      if (stopper->update(r.epoch, monitored(r.figures, stopper->monitor(), file))) save_weights(out_dir_ + "/best.safetensors");
      stop = stopper->should_stop();
      if (stop && options_.progress)
        std::fprintf(stderr, "graphrun: early stopping after epoch %lld: %s has not improved since epoch %lld (%.6g)\n",
                     (long long)r.epoch, stopper->monitor().c_str(), (long long)stopper->best_epoch(), stopper->best());
    }
    if (plateau) {
      const double lr = optimizer_->learning_rate();
      const double next = plateau->update(monitored(r.figures, t.reduce_lr_on_plateau.monitor, file), lr);
      if (next != lr) {
        run.plateau_factor *= next / lr;
        if (options_.progress) std::fprintf(stderr, "graphrun: reducing the learning rate to %.3g\n", next);
      }
    }
    const double minutes = (elapsed_before + seconds_since(run_start)) / 60;
    if (t.max_minutes > 0 && minutes >= t.max_minutes && epoch + 1 < t.epochs) {
      if (options_.progress)
        std::fprintf(stderr, "graphrun: time budget of %.1f minutes reached after epoch %lld\n", t.max_minutes, (long long)r.epoch);
      stop = true;
    }
    run.stopped = stop;
    checkpoint(epoch + 1, 0, nullptr, 0);
    if (const int signal = interrupts.pending()) throw Interrupted{signal, epoch + 1, steps};
  }
  if (stopper && t.early_stopping.restore_best && stopper->best_epoch() > 0) {
    load_weights(out_dir_ + "/best.safetensors");
    if (options_.progress)
      std::fprintf(stderr, "graphrun: restored the weights of epoch %lld (best %s %.6g)\n", (long long)stopper->best_epoch(),
                   stopper->monitor().c_str(), stopper->best());
  }
  save_weights(out_dir_ + "/weights.safetensors");
  // Stopped while finishing: the run is whole, and --resume only writes the weights again.
  if (const int signal = interrupts.pending()) throw Interrupted{signal, run.epoch, steps};
  return run.records;
}

}  // namespace graphrun
