#include "graph/data_spec.hpp"

#include "graph/yaml_context.hpp"

#include <cmath>

namespace graphrun {
namespace {

const std::set<std::string> kFormats = {"idx", "images", "pair_file"};
const std::set<std::string> kStrategies = {"consecutive", "balanced", "class_weighted", "class_balanced", "none"};

std::vector<double> numbers(const Ctx& c, const YAML::Node& parent, const std::string& key, size_t count, const std::string& what) {
  auto v = c.value<std::vector<double>>(parent, key, {}, what);
  if (v.size() != count) c.fail(parent[key], what + ": '" + key + "' must be a list of " + std::to_string(count) + " numbers");
  return v;
}

data::ClassSelection parse_classes(const Ctx& c, const YAML::Node& n, const std::string& what) {
  data::ClassSelection s;
  if (n.IsSequence()) {  // classes: [s31, s32, ...]
    for (const auto& name : n) {
      if (!name.IsScalar()) c.fail(name, what + ": 'classes' lists class names (folder names), not lists or maps");
      s.names.push_back(name.Scalar());
    }
    if (s.names.empty()) c.fail(n, what + ": 'classes' lists no class");
    return s;
  }
  c.only_keys(n, {"names", "range", "fraction", "shuffle"}, what + ".classes");
  if (n["names"]) s.names = c.value<std::vector<std::string>>(n, "names", {}, what + ".classes");
  if (n["range"]) {
    auto r = numbers(c, n, "range", 2, what + ".classes");
    // Written so that NaN fails too; the bound keeps the conversion to int64_t defined.
    if (!(r[0] >= 0 && r[1] > r[0] && r[1] <= 1e15))
      c.fail(n["range"], what + ".classes: 'range' must be [begin, end) with 0 <= begin < end");
    s.begin = int64_t(r[0]), s.end = int64_t(r[1]);
  }
  if (n["fraction"]) {
    auto f = numbers(c, n, "fraction", 2, what + ".classes");
    if (f[0] < 0 || f[1] > 1 || f[1] <= f[0]) c.fail(n["fraction"], what + ".classes: 'fraction' must be [from, to] within [0, 1]");
    s.from = f[0], s.to = f[1];
  }
  s.shuffle = c.value<bool>(n, "shuffle", false, what + ".classes");
  if (!s.names.empty() && (n["range"] || n["fraction"] || n["shuffle"]))
    c.fail(n, what + ".classes: give names, or a range / fraction, not both");
  return s;
}

SplitSpec parse_split(const Ctx& c, const YAML::Node& n, const std::string& format, const std::string& what) {
  SplitSpec s;
  if (!n) return s;
  s.present = true;
  s.where = c.at(n);
  if (!n.IsMap()) c.fail(n, what + " must be a map");  // (n["holdout"] on a scalar throws BadSubscript)
  if (n["holdout"]) {
    c.only_keys(n, {"holdout"}, what);
    s.holdout = c.value<double>(n, "holdout", 0, what);
    if (!(s.holdout > 0 && s.holdout < 1)) c.fail(n["holdout"], what + ": 'holdout' is a fraction in (0, 1), such as 0.2");
    return s;
  }
  if (format == "idx") {
    c.only_keys(n, {"split", "range", "fraction"}, what);
    s.split = c.value<std::string>(n, "split", "train", what);
    if (s.split != "train" && s.split != "test") c.fail(n["split"], what + ": 'split' must be train or test");
    if (n["range"]) {
      auto r = c.value<std::vector<int64_t>>(n, "range", {}, what);
      if (r.size() != 2 || r[0] < 0 || r[1] <= r[0]) c.fail(n["range"], what + ": 'range' must be [begin, end) with 0 <= begin < end");
      s.begin = r[0], s.end = r[1];
    }
    if (n["fraction"]) {
      auto f = c.value<std::vector<double>>(n, "fraction", {}, what);
      if (f.size() != 2 || f[0] < 0 || f[1] > 1 || f[1] <= f[0]) c.fail(n["fraction"], what + ": 'fraction' must be [from, to] within [0, 1]");
      s.from = f[0], s.to = f[1];
    }
    return s;
  }
  if (format == "pair_file") {
    c.only_keys(n, {"file"}, what);
    s.pair_file = c.scalar(n, "file", what);
    return s;
  }
  c.only_keys(n, {"classes", "images"}, what);
  if (n["classes"]) s.classes = parse_classes(c, n["classes"], what);
  if (n["images"]) {
    auto r = c.value<std::vector<int64_t>>(n, "images", {}, what);
    if (r.size() != 2 || r[0] < 0 || r[1] <= r[0]) c.fail(n["images"], what + ": 'images' must be [begin, end) of each class's images");
    s.classes.image_begin = r[0], s.classes.image_end = r[1];
  }
  return s;
}

// erase: {probability: p, area: [min, max], aspect: [min, max]}; torchvision's defaults
// for the ranges.
void parse_erase(const Ctx& c, const YAML::Node& e, data::AugmentSpec& a) {
  const std::string what = "data.augment.erase";
  if (!e.IsMap()) c.fail(e, what + " must be a mapping: {probability: p, area: [min, max], aspect: [min, max]}");
  c.only_keys(e, {"probability", "area", "aspect"}, what);
  a.erase_probability = c.value<double>(e, "probability", 0.5, what);
  if (!(a.erase_probability >= 0 && a.erase_probability <= 1)) c.fail(e["probability"], what + ": 'probability' must be in [0, 1]");
  if (e["area"]) {
    auto s = numbers(c, e, "area", 2, what);
    if (!(s[0] > 0 && s[1] >= s[0] && s[1] <= 1)) c.fail(e["area"], what + ": 'area' must be [min, max] fractions of the image with 0 < min <= max <= 1");
    a.erase_area_min = s[0], a.erase_area_max = s[1];
  }
  if (e["aspect"]) {
    auto s = numbers(c, e, "aspect", 2, what);
    if (!(s[0] > 0 && s[1] >= s[0] && std::isfinite(s[1]))) c.fail(e["aspect"], what + ": 'aspect' must be [min, max] height/width ratios with 0 < min <= max");
    a.erase_aspect_min = s[0], a.erase_aspect_max = s[1];
  }
}

data::AugmentSpec parse_augment(const Ctx& c, const YAML::Node& n) {
  data::AugmentSpec a;
  c.only_keys(n, {"rotation", "shear", "scale", "translate", "mirror", "brightness", "contrast", "gamma", "erase"},
                "data.augment");
  a.mirror = c.value<bool>(n, "mirror", false, "data.augment");
  a.rotation = c.value<double>(n, "rotation", 0, "data.augment");
  a.shear = c.value<double>(n, "shear", 0, "data.augment");
  a.translate = c.value<double>(n, "translate", 0, "data.augment");
  a.brightness = c.value<double>(n, "brightness", 0, "data.augment");
  if (n["contrast"]) {
    auto s = numbers(c, n, "contrast", 2, "data.augment");
    if (!(s[0] >= 0 && s[1] >= s[0] && std::isfinite(s[1]))) c.fail(n["contrast"], "data.augment: 'contrast' must be [min, max] with 0 <= min <= max");
    a.contrast_min = s[0], a.contrast_max = s[1];
  }
  if (n["gamma"]) {
    auto s = numbers(c, n, "gamma", 2, "data.augment");
    if (!(s[0] > 0 && s[1] >= s[0] && std::isfinite(s[1]))) c.fail(n["gamma"], "data.augment: 'gamma' must be [min, max] exponents with 0 < min <= max");
    a.gamma_min = s[0], a.gamma_max = s[1];
  }
  if (n["scale"]) {
    auto s = numbers(c, n, "scale", 2, "data.augment");
    if (!(s[0] > 0 && s[1] >= s[0] && std::isfinite(s[1]))) c.fail(n["scale"], "data.augment: 'scale' must be [min, max] with 0 < min <= max");
    a.scale_min = s[0], a.scale_max = s[1];
  }
  if (!(a.rotation >= 0 && a.rotation <= 180)) c.fail(n["rotation"], "data.augment: 'rotation' is degrees in [0, 180]");
  if (!(a.shear >= 0 && a.shear < 90)) c.fail(n["shear"], "data.augment: 'shear' is degrees in [0, 90)");
  if (!(a.translate >= 0 && a.translate < 1)) c.fail(n["translate"], "data.augment: 'translate' is a fraction of the size in [0, 1)");
  if (!(a.brightness >= 0 && a.brightness <= 1)) c.fail(n["brightness"], "data.augment: 'brightness' is a shift of the [0, 1] values in [0, 1]");
  if (const YAML::Node e = n["erase"]) parse_erase(c, e, a);
  return a;
}

}  // namespace

DataSpec parse_data(const Ctx& c, const YAML::Node& n) {
  DataSpec d;
  if (!n) return d;
  c.only_keys(n, {"format", "path", "image", "pairs", "augment", "rotations", "train", "validation", "test"}, "data");
  d.present = true;
  d.where = c.at(n);
  d.format = c.value<std::string>(n, "format", "idx", "data");
  if (!kFormats.count(d.format)) c.fail(n["format"], "data: format '" + d.format + "' is not supported (supported: idx, images, pair_file)");
  if (!n["path"]) c.fail(n, "data: missing 'path'");
  if (n["path"].IsSequence()) {
    if (d.format != "images") c.fail(n["path"], "data: several paths are for format images only");
    d.paths = c.value<std::vector<std::string>>(n, "path", {}, "data");
    if (d.paths.empty()) c.fail(n["path"], "data: 'path' lists no folder");
  } else {
    d.paths = {c.scalar(n, "path", "data")};
  }
  if (const YAML::Node img = n["image"]) {
    if (d.format == "idx") c.fail(img, "data: 'image' is for formats images and pair_file (IDX files state their own size)");
    c.only_keys(img, {"size", "channels", "invert"}, "data.image");
    if (img["size"]) {
      auto s = c.value<std::vector<int64_t>>(img, "size", {}, "data.image");
      if (s.size() != 2 || s[0] <= 0 || s[1] <= 0 || s[0] > 4096 || s[1] > 4096)
        c.fail(img["size"], "data.image: 'size' must be [rows, cols], each in 1..4096");
      d.rows = s[0], d.cols = s[1];
    }
    d.channels = c.value<int64_t>(img, "channels", 0, "data.image");
    if (d.channels != 0 && d.channels != 1 && d.channels != 3) c.fail(img["channels"], "data.image: 'channels' must be 1 or 3");
    d.invert = c.value<bool>(img, "invert", false, "data.image");
  }
  if (const YAML::Node p = n["pairs"]) {
    c.only_keys(p, {"strategy", "same_weight", "other_weight", "same_label", "classes", "images_per_class"}, "data.pairs");
    d.strategy = c.scalar(p, "strategy", "data.pairs");
    if (!kStrategies.count(d.strategy))
      c.fail(p["strategy"], "data.pairs: unknown strategy '" + d.strategy +
                                "' (consecutive, balanced, class_weighted, class_balanced, or none for single images)");
    d.same_weight = c.value<double>(p, "same_weight", 0.9, "data.pairs");
    d.other_weight = c.value<double>(p, "other_weight", 0.1, "data.pairs");
    d.same_label = c.value<float>(p, "same_label", 1.f, "data.pairs");
    if (d.same_label != 0.f && d.same_label != 1.f) c.fail(p["same_label"], "data.pairs: same_label must be 0 or 1");
    if (d.strategy == "class_balanced") {
      d.batch_classes = c.value<int64_t>(p, "classes", 0, "data.pairs");
      d.images_per_class = c.value<int64_t>(p, "images_per_class", 0, "data.pairs");
      if (d.batch_classes < 2 || d.images_per_class < 1)
        c.fail(p, "data.pairs: class_balanced needs 'classes' (>= 2 per batch) and 'images_per_class' (>= 1)");
    } else if (p["classes"] || p["images_per_class"]) {
      c.fail(p, "data.pairs: 'classes' and 'images_per_class' are for strategy class_balanced");
    }
    if (d.format == "pair_file" && d.strategy != "none")
      c.fail(p["strategy"], "data.pairs: a pair file lists its own pairs: leave out 'strategy' (same_label still applies)");
  }
  if (d.format == "pair_file") d.strategy = "pair_file";
  if (const YAML::Node a = n["augment"]) d.augment = parse_augment(c, a);
  if (n["rotations"]) {
    d.rotations = c.value<std::vector<int>>(n, "rotations", {}, "data");
    for (int r : d.rotations)
      if (r != 0 && r != 90 && r != 180 && r != 270) c.fail(n["rotations"], "data: 'rotations' are angles among 0, 90, 180, 270");
  }
  d.train = parse_split(c, n["train"], d.format, "data.train");
  d.validation = parse_split(c, n["validation"], d.format, "data.validation");
  d.test = parse_split(c, n["test"], d.format, "data.test");
  if (!d.train.present) c.fail(n, "data: missing 'train' (e.g. train: {split: train})");
  if (d.train.holdout > 0 || d.test.holdout > 0) c.fail(n, "data: 'holdout' is for the validation split only");
  return d;
}

EvaluationSpec parse_evaluation(const Ctx& c, const YAML::Node& n) {
  EvaluationSpec e;
  if (!n) return e;
  const std::string what = "evaluation";
  c.only_keys(n, {"score", "embedding", "distance", "verify", "oneshot_runs", "oneshot_runs_each_epoch", "tasks", "views"},
              what);
  e.present = true;
  e.where = c.at(n);
  e.score = c.value<std::string>(n, "score", "", what);
  if (!e.score.empty() && e.score != "similarity" && e.score != "distance")
    c.fail(n["score"], what + ": 'score' is similarity (higher means same) or distance (lower means same)");
  e.embedding = c.value<std::string>(n, "embedding", "", what);
  e.distance = c.value<std::string>(n, "distance", "euclidean", what);
  if (e.distance != "euclidean" && e.distance != "sqeuclidean" && e.distance != "cosine")
    c.fail(n["distance"], what + ": 'distance' is euclidean, sqeuclidean or cosine");
  e.verify = c.value<std::string>(n, "verify", e.embedding.empty() ? "pairs" : "all", what);
  if (e.verify != "pairs" && e.verify != "all") c.fail(n["verify"], what + ": 'verify' is pairs (the split's pairs) or all (every pair of its images)");
  e.oneshot_runs = c.value<std::string>(n, "oneshot_runs", "", what);
  e.oneshot_runs_each_epoch = c.value<bool>(n, "oneshot_runs_each_epoch", false, what);
  if (e.oneshot_runs_each_epoch && e.oneshot_runs.empty())
    c.fail(n["oneshot_runs_each_epoch"], what + ": 'oneshot_runs_each_epoch' needs 'oneshot_runs'");
  if (const YAML::Node v = n["views"]) {
    c.only_keys(v, {"rotations", "mirror", "shifts"}, what + ".views");
    if (e.embedding.empty()) c.fail(v, what + ": 'views' need 'embedding' (the views' embeddings are joined into one)");
    e.views.rotations = c.value<std::vector<int>>(v, "rotations", {0}, what + ".views");
    e.views.mirror = c.value<bool>(v, "mirror", false, what + ".views");
    if (v["shifts"]) {
      const auto shifts = c.value<std::vector<std::vector<int>>>(v, "shifts", {}, what + ".views");
      e.views.shifts.clear();
      for (const auto& s : shifts) {
        if (s.size() != 2) c.fail(v["shifts"], what + ".views: each shift is [right, down] in pixels, e.g. [2, 0]");
        e.views.shifts.emplace_back(s[0], s[1]);
      }
    }
    if (const std::string p = e.views.rotation_problem(); !p.empty()) c.fail(v["rotations"] ? v["rotations"] : v, what + ".views: " + p);
    if (const std::string p = e.views.shift_problem(); !p.empty()) c.fail(v["shifts"], what + ".views: " + p);
  }
  if (const YAML::Node t = n["tasks"]) {
    c.only_keys(t, {"ways", "shots", "queries", "count", "seed"}, what + ".tasks");
    e.has_tasks = true;
    e.tasks.ways = c.value<int64_t>(t, "ways", 5, what + ".tasks");
    e.tasks.shots = c.value<int64_t>(t, "shots", 1, what + ".tasks");
    e.tasks.queries = c.value<int64_t>(t, "queries", 1, what + ".tasks");
    e.tasks.count = c.value<int64_t>(t, "count", 100, what + ".tasks");
    e.tasks.seed = c.value<uint64_t>(t, "seed", 0, what + ".tasks");
    if (e.tasks.ways < 2 || e.tasks.shots < 1 || e.tasks.queries < 1 || e.tasks.count < 1)
      c.fail(t, what + ".tasks: ways >= 2, shots >= 1, queries >= 1 and count >= 1");
  }
  return e;
}

}  // namespace graphrun
