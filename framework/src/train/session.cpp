#include "train/session.hpp"

#include "io/checkpoint.hpp"
#include "train/checks.hpp"
#include "train/feed.hpp"
#include "train/progress.hpp"

#include <graphrun/error.hpp>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

namespace graphrun {

namespace fs = std::filesystem;

struct Session::Split {
  data::ImageSet images;
  std::unique_ptr<data::BatchLoader> loader;
};

namespace {

const SplitSpec& split_spec(const DataSpec& d, const std::string& name) {
  if (name == "train") return d.train;
  if (name == "validation") return d.validation;
  if (name == "test") return d.test;
  throw Error("unknown split '" + name + "' (train, validation or test)");
}

uint64_t mix(uint64_t a, uint64_t b) {  // splitmix64 of a combined pair
  uint64_t z = a + 0x9E3779B97F4A7C15ull * (b + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

// Learning-rate multiplier for an epoch: cosine decays from 1 to min_fraction over the run.
double learning_rate_factor(const TrainSpec& t, int64_t epoch) {
  if (t.schedule == "cosine")
    return t.schedule_min + (1 - t.schedule_min) * 0.5 * (1 + std::cos(M_PI * double(epoch) / double(t.epochs)));
  if (t.schedule == "step") return std::pow(t.schedule_drop, double(epoch / t.schedule_every));
  return 1.0;
}

Session::Session(const std::string& graph_path, const Registry& registry, SessionOptions options)
    : options_(std::move(options)), engine_(dnnl::engine::kind::cpu, 0) {
  GraphSpec spec = load_graph_spec(graph_path);
  seed_ = options_.seed.value_or(spec.train.seed);
  if (options_.epochs) spec.train.epochs = *options_.epochs;
  if (!options_.data_path.empty()) spec.data.path = options_.data_path;
  model_ = std::make_unique<Model>(std::move(spec), registry, engine_);
  check_pair_strategy(*model_);
  model_->initialize(seed_);
  load_node_weights();
  const TrainSpec& t = model_->spec().train;
  optimizer_ = make_optimizer(t.optimizer, t.optimizer_args);
  out_dir_ = options_.out_dir.empty() ? "runs/" + model_->spec().name : options_.out_dir;
}

Session::~Session() = default;

Plan& Session::plan(int64_t batch) {
  auto it = plans_.find(batch);
  if (it != plans_.end()) return *it->second;
  auto p = std::make_unique<Plan>(*model_, batch, options_.verbose);
  if (options_.verbose)
    for (const auto& impl : p->implementations()) std::fprintf(stderr, "[graphrun] batch %lld %s\n", (long long)batch, impl.c_str());
  return *plans_.emplace(batch, std::move(p)).first->second;
}

Session::Split& Session::split(const std::string& name) {
  auto it = splits_.find(name);
  if (it != splits_.end()) return *it->second;
  const DataSpec& d = model_->spec().data;
  if (!d.present) throw Error(model_->spec().file + ": the graph has no 'data' section");
  const SplitSpec& s = split_spec(d, name);
  if (!s.present) throw Error(model_->spec().file + ": data has no '" + name + "' split");

  if (!sets_.count(s.split)) {
    std::string path = d.path;
    if (fs::path(path).is_relative() && !fs::exists(path)) {
      fs::path beside = fs::path(model_->spec().file).parent_path() / path;
      if (fs::exists(beside)) path = beside.string();
    }
    sets_[s.split] = data::load_idx_folder(path, s.split);
  }
  const data::ImageSet& all = sets_[s.split];
  int64_t begin = s.begin, end = s.end < 0 ? all.count : s.end;
  if (end > all.count)
    throw Error(model_->spec().file + ": data." + name + " range ends at " + std::to_string(end) + " but the " + s.split +
                " set has " + std::to_string(all.count) + " images");
  const int64_t n = end - begin;
  end = begin + int64_t(std::llround(s.to * double(n)));
  begin = begin + int64_t(std::llround(s.from * double(n)));

  auto split = std::make_unique<Split>();
  split->images = data::slice(all, begin, end);
  // Every graph input must match what its batch field carries.
  for (int id : model_->graph_inputs()) {
    const NodeDef& in = model_->nodes()[id];
    static const std::set<std::string> fields = {"left", "right", "image", "label", "class"};
    if (!fields.count(in.feed))
      throw Error(in.where + ": input '" + in.name + "' is fed from '" + in.feed +
                  "', which is not a batch field (left, right, image, label, class): set feed: explicitly");
    const int64_t want = (in.feed == "label" || in.feed == "class") ? 1 : split->images.image_size();
    if (volume(in.shape) != want)
      throw Error(in.where + ": input '" + in.name + "' has shape " + to_string(in.shape) + " (" + std::to_string(volume(in.shape)) +
                  " values) but its feed '" + in.feed + "' carries " + std::to_string(want) + " values per example");
  }
  data::PairSpec ps;
  ps.strategy = d.strategy;
  ps.same_weight = d.same_weight;
  ps.other_weight = d.other_weight;
  ps.same_label = d.same_label;
  ps.seed = mix(seed_, name == "train" ? 1 : name == "validation" ? 2 : 3);
  auto pairs = data::make_pairs(split->images.labels, ps);
  if (pairs.empty()) throw Error(model_->spec().file + ": data." + name + " yields no examples");
  const TrainSpec& t = model_->spec().train;
  const bool training = name == "train";
  const int64_t batch = training ? t.batch_size : (t.eval_batch_size ? t.eval_batch_size : t.batch_size);
  split->loader = std::make_unique<data::BatchLoader>(split->images, std::move(pairs), batch, training, mix(seed_, 4));
  return *splits_.emplace(name, std::move(split)).first->second;
}

Metrics Session::new_metrics() const {
  const Shape& out = model_->nodes()[model_->output()].shape;
  if (volume(out) == 1) return Metrics::binary(model_->spec().data.same_label);
  return Metrics::categorical(int(volume(out)));
}

// Which graph input holds the target the output is scored against.
static int label_input(const Model& m) {
  for (int id : m.graph_inputs())
    if (m.nodes()[id].feed == "label" || m.nodes()[id].feed == "class") return id;
  return -1;
}

Metrics Session::evaluate(const std::string& name) {
  Split& s = split(name);
  Metrics m = new_metrics();
  const int label = label_input(*model_);
  s.loader->start_epoch(0);
  while (const data::Batch* b = s.loader->next()) {
    Plan& p = plan(b->size);
    feed_batch(*model_, p, *b);
    p.forward(Mode::eval, 0);
    if (model_->loss() >= 0) m.add_loss(p.loss(), b->size);
    if (label >= 0) m.add_batch(p.output(model_->output()), p.input(label).data(), b->size);
  }
  return m;
}

std::vector<EpochRecord> Session::train() {
  if (!model_->has_trainable_params()) throw Error(model_->spec().file + ": the graph has no trainable parameters; use graphrun eval");
  if (model_->loss() < 0) throw Error(model_->spec().file + ": training needs a loss: name the loss node with 'loss:'");
  const TrainSpec& t = model_->spec().train;
  Split& train = split("train");
  const bool has_val = model_->spec().data.validation.present;
  if (has_val) split("validation");
  const int label = label_input(*model_);
  prepare_run_folder(out_dir_);
  std::ofstream history(out_dir_ + "/history.csv");
  history << "epoch,accuracy,loss" << (has_val ? ",val_accuracy,val_loss" : "") << ",seconds\n";
  if (!history) throw Error(out_dir_ + "/history.csv: cannot write the training history");

  std::vector<EpochRecord> records;
  const int64_t steps = t.steps_per_epoch ? std::min(t.steps_per_epoch, train.loader->batches_per_epoch())
                                          : train.loader->batches_per_epoch();
  const double base_lr = optimizer_->learning_rate();
  for (int64_t epoch = 0; epoch < t.epochs; ++epoch) {
    optimizer_->set_learning_rate(base_lr * learning_rate_factor(t, epoch));
    const auto start = std::chrono::steady_clock::now();
    Progress bar(options_.progress, epoch + 1, t.epochs, steps);
    Metrics m = new_metrics();
    train.loader->start_epoch(epoch);
    for (int64_t i = 0; i < steps; ++i) {
      const data::Batch* b = train.loader->next();
      if (!b) break;
      Plan& p = plan(b->size);
      feed_batch(*model_, p, *b);
      const uint64_t step_seed = mix(seed_ ^ 0x5eed, uint64_t(step_));
      p.forward(Mode::train, step_seed);
      const float loss = p.loss();
      if (!std::isfinite(loss))
        throw Error("training diverged: the loss is " + std::to_string(loss) + " at epoch " + std::to_string(epoch + 1) +
                    ", step " + std::to_string(i + 1) + " (try a smaller learning rate)");
      p.backward(step_seed);
      p.reduce_gradients();
      optimizer_->step(model_->params());
      ++step_;
      m.add_loss(loss + regularization_loss(model_->params()), b->size);
      if (label >= 0) m.add_batch(p.output(model_->output()), p.input(label).data(), b->size);
      bar.update(i + 1, m.loss(), m.accuracy());
    }
    EpochRecord r{epoch + 1, m.loss(), m.accuracy(), 0, 0, 0, has_val};
    if (has_val) {
      Metrics v = evaluate("validation");
      r.val_loss = v.loss();
      r.val_accuracy = v.accuracy();
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    bar.finish(r.loss, r.accuracy, has_val, r.val_loss, r.val_accuracy, r.seconds);
    history << r.epoch << "," << r.accuracy << "," << r.loss;
    if (has_val) history << "," << r.val_accuracy << "," << r.val_loss;
    history << "," << r.seconds << "\n";
    history.flush();
    if (!history) throw Error(out_dir_ + "/history.csv: writing the training history failed (disk full?)");
    records.push_back(r);
  }
  save_weights(out_dir_ + "/weights.safetensors");
  return records;
}

void Session::save_weights(const std::string& path) {
  Checkpoint c;
  for (const auto& p : model_->params()) {
    c.tensors[p.name] = StoredTensor{p.spec.dims, p.value.plain_values()};
  }
  for (auto& [name, values] : optimizer_->state(model_->params()))
    c.tensors["__optimizer__/" + name] = StoredTensor{{int64_t(values.size())}, std::move(values)};
  c.metadata = {{"format", "graphrun-checkpoint-1"}, {"graph", model_->spec().name},
                {"step", std::to_string(step_)}, {"optimizer_iterations", std::to_string(optimizer_->iterations())},
                {"seed", std::to_string(seed_)}};
  write_checkpoint(path, c);
}

namespace {

void copy_into(Tensor& dst, const Shape& dims, const StoredTensor& src, const std::string& what, const std::string& file) {
  if (src.shape != dims)
    throw Error(file + ": tensor '" + what + "' has shape " + to_string(src.shape) + " but the graph needs " + to_string(dims));
  dst.set_plain_values(src.values.data());
}

}  // namespace

void Session::load_weights(const std::string& path, bool from_other_graph) {
  Checkpoint c = read_checkpoint(path);
  check_checkpoint_graph(c, path, model_->spec().name, from_other_graph);
  for (auto& p : model_->params()) {
    auto it = c.tensors.find(p.name);
    if (it == c.tensors.end()) throw Error(path + ": the checkpoint has no tensor '" + p.name + "' (" + to_string(p.spec.dims) + ")");
    copy_into(p.value, p.spec.dims, it->second, p.name, path);
  }
  for (const auto& [name, values] : optimizer_->state(model_->params())) {
    auto it = c.tensors.find("__optimizer__/" + name);
    if (it != c.tensors.end()) optimizer_->set_state(model_->params(), name, it->second.values);
  }
  auto iters = c.metadata.find("optimizer_iterations");
  if (iters != c.metadata.end()) optimizer_->set_iterations(std::stoll(iters->second));
  auto step = c.metadata.find("step");
  if (step != c.metadata.end()) step_ = std::stoll(step->second);
}

// Nodes and towers with `weights: FILE` take their parameters from another graph's
// checkpoint: tower parameters by their name inside the tower ("conv1/kernel"), under
// weights_prefix when one is given.
void Session::load_node_weights() {
  std::map<std::string, Checkpoint> files;
  for (const auto& d : model_->nodes()) {
    if (d.weights_file.empty()) continue;
    if (!files.count(d.weights_file)) files[d.weights_file] = read_checkpoint(d.weights_file);
    const Checkpoint& c = files[d.weights_file];
    for (size_t k = 0; k < d.params.size(); ++k) {
      Parameter& p = model_->params()[d.params[k]];
      std::string local = p.name;
      if (d.name != d.param_prefix && local.find('/') != std::string::npos) local = local.substr(local.find('/') + 1);
      const std::string lookup = d.weights_prefix.empty() ? local : d.weights_prefix + "/" + local;
      auto it = c.tensors.find(lookup);
      if (it == c.tensors.end())
        throw Error(d.where + ": node '" + d.name + "': " + d.weights_file + " has no tensor '" + lookup + "' (" +
                    to_string(p.spec.dims) + ")");
      copy_into(p.value, p.spec.dims, it->second, lookup, d.weights_file);
    }
  }
}

}  // namespace graphrun
