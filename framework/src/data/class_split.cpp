#include "data/class_split.hpp"

#include "data/image_tree.hpp"
#include "data/random.hpp"

#include <graphrun/error.hpp>

#include <opencv2/core.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

namespace graphrun::data {
namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), size_t(0));
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = up;
    }
  }
  return row[b.size()];
}

}  // namespace

ImageSet select_classes(const ImageSet& set, const ClassSelection& s, uint64_t seed, const std::string& what) {
  const int64_t classes = set.num_classes();
  std::vector<int32_t> chosen;
  if (!s.names.empty()) {
    std::map<std::string, int32_t> by_name;
    for (size_t c = 0; c < set.class_names.size(); ++c) by_name[set.class_names[c]] = int32_t(c);
    for (const auto& n : s.names) {
      auto it = by_name.find(n);
      if (it == by_name.end()) {
        std::string nearest;
        size_t best = SIZE_MAX;
        for (const auto& [name, c] : by_name)
          if (edit_distance(n, name) < best) best = edit_distance(n, name), nearest = name;
        throw Error(what + ": no class named '" + n + "'" + (nearest.empty() ? "" : " (did you mean '" + nearest + "'?)"));
      }
      chosen.push_back(it->second);
    }
  } else {
    std::vector<int32_t> order(static_cast<size_t>(classes));
    std::iota(order.begin(), order.end(), 0);
    if (s.shuffle) {
      std::mt19937_64 rng(seed);
      shuffle_in_place(order, rng);
    }
    const int64_t end = s.end < 0 ? classes : s.end;
    if (s.begin < 0 || end > classes || s.begin >= end)
      throw Error(what + ": class range [" + std::to_string(s.begin) + ", " + std::to_string(end) + ") but the data has " +
                  std::to_string(classes) + " classes");
    const int64_t n = end - s.begin;
    const int64_t from = s.begin + std::llround(s.from * double(n)), to = s.begin + std::llround(s.to * double(n));
    chosen.assign(order.begin() + from, order.begin() + to);
  }
  std::map<int32_t, std::vector<int64_t>> images;
  for (int64_t i = 0; i < set.count; ++i) images[set.labels[size_t(i)]].push_back(i);
  std::vector<int64_t> indices;
  for (int32_t c : chosen) {
    const auto& all = images[c];
    const int64_t end = s.image_end < 0 ? int64_t(all.size()) : std::min<int64_t>(s.image_end, int64_t(all.size()));
    for (int64_t k = s.image_begin; k < end; ++k) indices.push_back(all[size_t(k)]);
  }
  if (indices.empty()) throw Error(what + ": selects no image (" + std::to_string(chosen.size()) + " classes chosen)");
  return select_images(set, indices, true);
}

ImageSet with_rotated_classes(const ImageSet& set, const std::vector<int>& degrees) {
  for (int d : degrees)
    if (d % 90 != 0 || d < 0 || d >= 360) throw Error("rotations: each angle must be 0, 90, 180 or 270, got " + std::to_string(d));
  const int64_t quarter_turns = std::count_if(degrees.begin(), degrees.end(), [](int d) { return d == 90 || d == 270; });
  if (quarter_turns && set.rows != set.cols)
    throw Error("rotations: 90-degree rotations need square images, these are " + std::to_string(set.rows) + "x" + std::to_string(set.cols));
  ImageSet out;
  const int64_t r = int64_t(degrees.size()), size = set.image_size(), plane = set.rows * set.cols;
  out.count = set.count * r;
  out.channels = set.channels, out.rows = set.rows, out.cols = set.cols;
  out.pixels.resize(size_t(out.count * size));
  for (int64_t i = 0; i < set.count; ++i)
    for (int64_t k = 0; k < r; ++k) {
      const int64_t o = i * r + k;
      for (int64_t c = 0; c < set.channels; ++c) {
        const cv::Mat src(int(set.rows), int(set.cols), CV_8UC1, const_cast<uint8_t*>(set.image(i) + c * plane));
        cv::Mat dst(int(set.rows), int(set.cols), CV_8UC1, out.pixels.data() + o * size + c * plane);
        const int d = degrees[size_t(k)];
        if (d == 0) src.copyTo(dst);
        else cv::rotate(src, dst, d == 90 ? cv::ROTATE_90_COUNTERCLOCKWISE : d == 180 ? cv::ROTATE_180 : cv::ROTATE_90_CLOCKWISE);
      }
      out.labels.push_back(set.labels[size_t(i)] * int32_t(r) + int32_t(k));
      if (!set.files.empty()) out.files.push_back(set.files[size_t(i)]);
    }
  for (int64_t c = 0; c < set.num_classes(); ++c)
    for (int d : degrees)
      out.class_names.push_back((size_t(c) < set.class_names.size() ? set.class_names[size_t(c)] : std::to_string(c)) + "@" +
                                std::to_string(d));
  return out;
}

}  // namespace graphrun::data
