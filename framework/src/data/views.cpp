#include "data/views.hpp"

#include "data/class_split.hpp"

#include <graphrun/error.hpp>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cstdlib>

namespace graphrun::data {

std::string ViewSpec::rotation_problem() const {
  if (rotations.empty()) return "'rotations' names no angle (0 is the image as it is)";
  for (size_t i = 0; i < rotations.size(); ++i) {
    const int d = rotations[i];
    if (d != 0 && d != 90 && d != 180 && d != 270) return "each rotation is 0, 90, 180 or 270 degrees";
    if (std::find(rotations.begin(), rotations.begin() + long(i), d) != rotations.begin() + long(i))
      return "rotation " + std::to_string(d) + " is named twice";
  }
  return "";
}

std::string ViewSpec::shift_problem() const {
  if (shifts.empty()) return "'shifts' names no shift ([0, 0] is the view as it is)";
  for (size_t i = 0; i < shifts.size(); ++i)
    if (std::find(shifts.begin(), shifts.begin() + long(i), shifts[i]) != shifts.begin() + long(i))
      return "shift [" + std::to_string(shifts[i].first) + ", " + std::to_string(shifts[i].second) + "] is named twice";
  return "";
}

namespace {

// Each image of `set` once per shift, shift by shift; the border pixels fill what a shift
// uncovers.
ImageSet with_shifts(const ImageSet& set, const std::vector<std::pair<int, int>>& shifts) {
  for (const auto& [dx, dy] : shifts)
    if (std::abs(dx) >= set.cols || std::abs(dy) >= set.rows)
      throw Error("views: shift [" + std::to_string(dx) + ", " + std::to_string(dy) + "] moves a " +
                  std::to_string(set.rows) + "x" + std::to_string(set.cols) + " image out of its frame");
  const int64_t k = int64_t(shifts.size()), size = set.image_size(), plane = set.rows * set.cols;
  ImageSet out;
  out.count = set.count * k;
  out.channels = set.channels, out.rows = set.rows, out.cols = set.cols;
  out.class_names = set.class_names;
  out.pixels.resize(size_t(out.count * size));
  for (int64_t i = 0; i < set.count; ++i)
    for (int64_t s = 0; s < k; ++s) {
      const cv::Mat move = (cv::Mat_<double>(2, 3) << 1, 0, shifts[size_t(s)].first, 0, 1, shifts[size_t(s)].second);
      for (int64_t c = 0; c < set.channels; ++c) {
        const cv::Mat src(int(set.rows), int(set.cols), CV_8UC1, const_cast<uint8_t*>(set.image(i) + c * plane));
        cv::Mat dst(int(set.rows), int(set.cols), CV_8UC1, out.pixels.data() + (i * k + s) * size + c * plane);
        cv::warpAffine(src, dst, move, dst.size(), cv::INTER_NEAREST, cv::BORDER_REPLICATE);
      }
      out.labels.push_back(set.labels[size_t(i)]);
      if (!set.files.empty()) out.files.push_back(set.files[size_t(i)]);
    }
  return out;
}

// Each image of `set` plain, then mirrored left to right.
ImageSet with_mirrored(const ImageSet& set) {
  ImageSet out;
  out.count = set.count * 2;
  out.channels = set.channels, out.rows = set.rows, out.cols = set.cols;
  out.class_names = set.class_names;
  const int64_t size = set.image_size(), plane = set.rows * set.cols;
  out.pixels.resize(size_t(out.count * size));
  for (int64_t i = 0; i < set.count; ++i) {
    std::copy_n(set.image(i), size, out.pixels.data() + 2 * i * size);
    for (int64_t c = 0; c < set.channels; ++c) {
      const cv::Mat src(int(set.rows), int(set.cols), CV_8UC1, const_cast<uint8_t*>(set.image(i) + c * plane));
      cv::Mat dst(int(set.rows), int(set.cols), CV_8UC1, out.pixels.data() + (2 * i + 1) * size + c * plane);
      cv::flip(src, dst, 1);
    }
    for (int k = 0; k < 2; ++k) {
      out.labels.push_back(set.labels[size_t(i)]);
      if (!set.files.empty()) out.files.push_back(set.files[size_t(i)]);
    }
  }
  return out;
}

}  // namespace

ImageSet with_views(const ImageSet& set, const ViewSpec& views) {
  if (const std::string p = views.problem(); !p.empty()) throw Error("views: " + p);
  ImageSet rotated = with_rotated_classes(set, views.rotations);
  for (int32_t& label : rotated.labels) label /= int32_t(views.rotations.size());
  rotated.class_names = set.class_names;
  ImageSet turned = views.mirror ? with_mirrored(rotated) : std::move(rotated);
  const bool unmoved = views.shifts.size() == 1 && views.shifts[0] == std::pair<int, int>{0, 0};
  return unmoved ? turned : with_shifts(turned, views.shifts);
}

}  // namespace graphrun::data
