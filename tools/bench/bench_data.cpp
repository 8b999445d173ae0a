#include "bench_data.hpp"

#include "data/idx.hpp"
#include "data/random.hpp"
#include "train/datasets.hpp"

#include <graphrun/error.hpp>

#include <filesystem>
#include <fstream>

namespace graphrun::bench {

using json = nlohmann::json;
namespace fs = std::filesystem;

// Image trees and pair files (R2, Koch): the split as training builds it (a held-out
// validation fraction left out of train), through the framework's DataSource.
static SplitData load_image_split(Session& s, const std::string& name) {
  DataSource source(s.model(), s.seed(), false);
  graphrun::SplitData d = source.split(name);
  if (d.class_balanced) throw Error(s.spec().file + ": class-balanced batches are not a benchmark workload");
  SplitData out;
  out.split = name;
  out.end = d.images.count;
  out.images = std::move(d.images);
  out.pairs = std::move(d.pairs);
  return out;
}

SplitData load_split(Session& s, const std::string& name, const std::string& range_override) {
  const DataSpec& d = s.spec().data;
  SplitSpec spec = name == "train" ? d.train : d.test;
  if (!spec.present) throw Error(s.spec().file + ": data has no '" + name + "' split");
  if (d.format != "idx") {
    if (!range_override.empty()) throw Error("--train-range is for IDX data sets");
    return load_image_split(s, name);
  }
  if (!range_override.empty()) {
    const auto colon = range_override.find(':');
    if (colon == std::string::npos) throw Error("--train-range expects BEGIN:END, got " + range_override);
    spec.begin = std::stoll(range_override.substr(0, colon));
    spec.end = std::stoll(range_override.substr(colon + 1));
    spec.from = 0;
    spec.to = 1;
  }
  std::string path = d.path();
  if (fs::path(path).is_relative() && !fs::exists(path)) {
    const fs::path beside = fs::path(s.spec().file).parent_path() / path;
    if (fs::exists(beside)) path = beside.string();
  }
  data::ImageSet all = data::load_idx_folder(path, spec.split);
  int64_t begin = spec.begin, end = spec.end < 0 ? all.count : spec.end;
  if (end > all.count) throw Error(name + " range ends at " + std::to_string(end) + " past " + std::to_string(all.count));
  const int64_t n = end - begin;
  end = begin + int64_t(std::llround(spec.to * double(n)));
  begin = begin + int64_t(std::llround(spec.from * double(n)));
  SplitData out;
  out.split = spec.split;
  out.begin = begin;
  out.end = end;
  out.images = begin == 0 && end == all.count ? std::move(all) : data::slice(all, begin, end);  // no second copy
  data::PairSpec ps;
  ps.strategy = d.strategy;
  ps.same_weight = d.same_weight;
  ps.other_weight = d.other_weight;
  ps.same_label = d.same_label;
  ps.seed = data::mix_seed(s.seed(), name == "train" ? 1 : 3);
  out.pairs = data::make_pairs(out.images.labels, ps);
  if (out.pairs.empty()) throw Error(name + " split yields no examples");
  return out;
}

void write_pairs(const std::string& path, const std::vector<data::Pair>& pairs) {
  std::ofstream f(path, std::ios::binary);
  for (const data::Pair& p : pairs) {
    f.write(reinterpret_cast<const char*>(&p.a), 4);
    f.write(reinterpret_cast<const char*>(&p.b), 4);
    f.write(reinterpret_cast<const char*>(&p.label), 4);
  }
  if (!f) throw Error(path + ": cannot write the pairs");
}

json split_info(const SplitData& d) {
  return {{"split", d.split}, {"begin", d.begin}, {"end", d.end}, {"pairs", d.pairs.size()}};
}

// The decoded images of a split that is not an IDX file (image trees, pair files), as
// bytes [count, channels, rows, cols], so that the PyTorch peer reads the very same ones.
void write_images(const std::string& dir, const std::string& name, const SplitData& d, const Session& s, json& info) {
  if (s.spec().data.format == "idx") return;
  const std::string file = name + "_images.u8";
  std::ofstream f(dir + "/" + file, std::ios::binary);
  f.write(reinterpret_cast<const char*>(d.images.pixels.data()), std::streamsize(d.images.pixels.size()));
  if (!f) throw Error(dir + "/" + file + ": cannot write the images");
  info[name]["images_file"] = file;
  info[name]["shape"] = {d.images.count, d.images.channels, d.images.rows, d.images.cols};
}

}  // namespace graphrun::bench
