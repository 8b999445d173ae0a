#include "data/views.hpp"

#include "data/class_split.hpp"

#include <graphrun/error.hpp>

#include <opencv2/core.hpp>

#include <algorithm>

namespace graphrun::data {

std::string ViewSpec::problem() const {
  if (rotations.empty()) return "'rotations' names no angle (0 is the image as it is)";
  for (size_t i = 0; i < rotations.size(); ++i) {
    const int d = rotations[i];
    if (d != 0 && d != 90 && d != 180 && d != 270) return "each rotation is 0, 90, 180 or 270 degrees";
    if (std::find(rotations.begin(), rotations.begin() + long(i), d) != rotations.begin() + long(i))
      return "rotation " + std::to_string(d) + " is named twice";
  }
  return "";
}

ImageSet with_views(const ImageSet& set, const ViewSpec& views) {
  if (const std::string p = views.problem(); !p.empty()) throw Error("views: " + p);
  ImageSet rotated = with_rotated_classes(set, views.rotations);
  for (int32_t& label : rotated.labels) label /= int32_t(views.rotations.size());
  rotated.class_names = set.class_names;
  if (!views.mirror) return rotated;

  ImageSet out;
  out.count = rotated.count * 2;
  out.channels = set.channels, out.rows = set.rows, out.cols = set.cols;
  out.class_names = set.class_names;
  const int64_t size = set.image_size(), plane = set.rows * set.cols;
  out.pixels.resize(size_t(out.count * size));
  for (int64_t i = 0; i < rotated.count; ++i) {
    std::copy_n(rotated.image(i), size, out.pixels.data() + 2 * i * size);
    for (int64_t c = 0; c < set.channels; ++c) {
      const cv::Mat src(int(set.rows), int(set.cols), CV_8UC1, const_cast<uint8_t*>(rotated.image(i) + c * plane));
      cv::Mat dst(int(set.rows), int(set.cols), CV_8UC1, out.pixels.data() + (2 * i + 1) * size + c * plane);
      cv::flip(src, dst, 1);
    }
    for (int k = 0; k < 2; ++k) {
      out.labels.push_back(rotated.labels[size_t(i)]);
      if (!rotated.files.empty()) out.files.push_back(rotated.files[size_t(i)]);
    }
  }
  return out;
}

}  // namespace graphrun::data
