#include "train/datasets.hpp"

#include "data/class_split.hpp"
#include "data/image_tree.hpp"
#include "data/pair_file.hpp"
#include "data/random.hpp"
#include "train/feed.hpp"

#include <graphrun/error.hpp>

#include <cmath>
#include <filesystem>
#include <map>

namespace graphrun {
namespace fs = std::filesystem;

namespace {

uint64_t split_stream(const std::string& name) { return name == "train" ? 1 : name == "validation" ? 2 : 3; }

}  // namespace

DataSource::DataSource(const Model& model, uint64_t seed, bool progress)
    : model_(model), spec_(model.spec()), seed_(seed), progress_(progress) {}

std::string DataSource::resolve(const std::string& path) const {
  if (fs::path(path).is_relative() && !fs::exists(path)) {
    fs::path beside = fs::path(spec_.file).parent_path() / path;
    if (fs::exists(beside)) return beside.string();
  }
  return path;
}

const SplitSpec& DataSource::spec_of(const std::string& name) const {
  const DataSpec& d = spec_.data;
  if (!d.present) throw Error(spec_.file + ": the graph has no 'data' section");
  const SplitSpec* s = name == "train" ? &d.train : name == "validation" ? &d.validation : name == "test" ? &d.test : nullptr;
  if (!s) throw Error("unknown split '" + name + "' (train, validation or test)");
  if (!s->present) throw Error(spec_.file + ": data has no '" + name + "' split");
  return *s;
}

data::ImageFormat DataSource::image_format() const {
  const DataSpec& d = spec_.data;
  data::ImageFormat f;
  f.invert = d.invert;
  f.rows = d.rows, f.cols = d.cols, f.channels = d.channels;
  for (int id : model_.graph_inputs()) {
    const NodeDef& in = model_.nodes()[size_t(id)];
    if (!is_image_feed(in.feed)) continue;
    if (in.shape.size() == 3) {  // [C, H, W]: the graph states the size itself
      if (f.channels == 0) f.channels = in.shape[0];
      if (f.rows == 0) f.rows = in.shape[1], f.cols = in.shape[2];
    }
    if (f.channels == 0) f.channels = 1;
    if (f.rows == 0)
      throw Error(in.where + ": input '" + in.name + "' has shape " + to_string(in.shape) +
                  ": give images a [channels, rows, cols] shape, or set data.image.size");
    break;
  }
  if (f.rows == 0) throw Error(spec_.file + ": no graph input is fed images (feed: left, right or image)");
  return f;
}

// Every graph input must match what its batch field carries.
void DataSource::check_inputs(const data::ImageSet& images) const {
  for (int id : model_.graph_inputs()) {
    const NodeDef& in = model_.nodes()[size_t(id)];
    if (!batch_field(in.feed))
      throw Error(in.where + ": input '" + in.name + "' is fed from '" + in.feed + "', which is not a batch field (" +
                  batch_field_names() + "): set feed: explicitly");
    const int64_t want = is_label_feed(in.feed) ? 1 : images.image_size();
    if (volume(in.shape) != want)
      throw Error(in.where + ": input '" + in.name + "' has shape " + to_string(in.shape) + " (" + std::to_string(volume(in.shape)) +
                  " values) but its feed '" + in.feed + "' carries " + std::to_string(want) + " values per example");
  }
}

// The images of a split before any holdout: a slice of an IDX file, or the selected classes
// of the image tree (training classes multiplied by data.rotations).
data::ImageSet DataSource::base_images(const std::string& name, const SplitSpec& s) {
  const DataSpec& d = spec_.data;
  const std::string what = spec_.file + ": data." + name;
  if (d.format == "idx") {
    if (!sets_.count(s.split)) sets_[s.split] = data::load_idx_folder(resolve(d.path()), s.split);
    const data::ImageSet& all = sets_[s.split];
    int64_t begin = s.begin, end = s.end < 0 ? all.count : s.end;
    if (end > all.count)
      throw Error(what + " range ends at " + std::to_string(end) + " but the " + s.split + " set has " +
                  std::to_string(all.count) + " images");
    const int64_t n = end - begin;
    end = begin + int64_t(std::llround(s.to * double(n)));
    begin = begin + int64_t(std::llround(s.from * double(n)));
    return data::slice(all, begin, end);
  }
  if (!sets_.count("tree")) {
    std::vector<std::string> roots;
    for (const auto& p : d.paths) roots.push_back(resolve(p));
    std::string label = roots.front() + (roots.size() > 1 ? " and " + std::to_string(roots.size() - 1) + " more" : "");
    sets_["tree"] = data::decode_tree(data::scan_image_tree(roots), image_format(), label, progress_);
  }
  data::ImageSet images = data::select_classes(sets_["tree"], s.classes, data::mix_seed(seed_, 7), what);
  if (name == "train" && !d.rotations.empty()) images = data::with_rotated_classes(images, d.rotations);
  return images;
}

std::vector<data::Pair> DataSource::pairs_for(const data::ImageSet& images, const std::string& name) const {
  const DataSpec& d = spec_.data;
  data::PairSpec ps;
  ps.strategy = d.strategy;
  ps.same_weight = d.same_weight;
  ps.other_weight = d.other_weight;
  ps.same_label = d.same_label;
  ps.seed = data::mix_seed(seed_, split_stream(name));
  if (d.strategy == "balanced" || d.strategy == "class_weighted") {
    std::map<int32_t, int64_t> counts;
    for (int32_t l : images.labels) ++counts[l];
    for (const auto& [label, n] : counts)
      if (n < 2)
        throw Error(spec_.file + ": data." + name + ": class '" +
                    (size_t(label) < images.class_names.size() ? images.class_names[size_t(label)] : std::to_string(label)) +
                    "' has one image, but same pairs (strategy " + d.strategy + ") need two of every class");
  }
  return data::make_pairs(images.labels, ps);
}

SplitData DataSource::split(const std::string& name) {
  const DataSpec& d = spec_.data;
  const SplitSpec& s = spec_of(name);
  SplitData out;
  out.class_balanced = d.strategy == "class_balanced";
  out.batches = {d.batch_classes, d.images_per_class};
  const std::string what = spec_.file + ": data." + name;

  if (d.format == "pair_file") {
    if (s.holdout > 0) throw Error(what + ": a pair file names its own pairs: give validation a file of its own");
    data::PairData p = data::load_pair_file(resolve(s.pair_file), resolve(d.path()), image_format(), d.same_label, progress_);
    out.images = std::move(p.images);
    out.pairs = std::move(p.pairs);
  } else {
    // A held-out validation split is a fraction of the training examples: of the classes
    // for class-balanced batches, otherwise of the pairs. Training leaves the same part out.
    const bool holdout_val = d.validation.present && d.validation.holdout > 0;
    const bool held = holdout_val && (name == "validation" || name == "train");
    out.images = base_images(held ? "train" : name, held ? d.train : s);
    const double f = d.validation.holdout;
    if (held && out.class_balanced) {
      data::ClassSelection sel;
      sel.shuffle = true;
      sel.from = name == "validation" ? 1 - f : 0;
      sel.to = name == "validation" ? 1 : 1 - f;
      out.images = data::select_classes(out.images, sel, data::mix_seed(seed_, 8), what + " (holdout)");
    }
    if (out.class_balanced) {
      if (name != "train") {  // evaluation splits may hold fewer classes than a training batch
        std::map<int32_t, int64_t> counts;
        for (int32_t l : out.images.labels) ++counts[l];
        int64_t eligible = 0;
        for (const auto& [label, n] : counts) eligible += n >= out.batches.per_class;
        out.batches.classes = std::max<int64_t>(2, std::min(out.batches.classes, eligible));
      }
      data::check_class_batches(out.images.labels, out.batches, what);
      out.pairs = data::class_balanced_epoch(out.images.labels, out.batches, data::mix_seed(seed_, split_stream(name)), 0);
    } else {
      out.pairs = pairs_for(out.images, held ? "train" : name);
      if (held) {
        std::mt19937_64 rng(data::mix_seed(seed_, 9));
        data::shuffle_in_place(out.pairs, rng);
        const size_t cut = size_t(std::llround(double(out.pairs.size()) * (1 - f)));
        if (name == "validation") out.pairs.erase(out.pairs.begin(), out.pairs.begin() + long(cut));
        else out.pairs.resize(cut);
      }
    }
  }
  check_inputs(out.images);
  if (out.pairs.empty()) throw Error(what + " yields no examples");
  return out;
}

}  // namespace graphrun
