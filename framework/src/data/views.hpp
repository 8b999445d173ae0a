#pragma once
// Test-time views of an image: its 90-degree rotations and, if asked, their mirror images,
// each also moved by a few pixels if asked (the border pixels repeated into the gap).
// An evaluation that embeds every view and joins the embeddings compares two images view by
// view, rotated (and mirrored) alike: under squared euclidean distance, the sum of the
// views' distances. A cheap ensemble that needs no retraining.
#include "data/idx.hpp"

#include <string>
#include <utility>
#include <vector>

namespace graphrun::data {

struct ViewSpec {
  std::vector<int> rotations{0};  // degrees, each of 0, 90, 180, 270
  bool mirror = false;            // each rotation also mirrored left to right
  // Each of those views moved by (right, down) pixels, in this order: {0, 0} is the view
  // as it is, and is the only shift by default.
  std::vector<std::pair<int, int>> shifts{{0, 0}};
  int64_t count() const { return int64_t(rotations.size()) * (mirror ? 2 : 1) * int64_t(shifts.size()); }
  // True unless the one view is the image as it is (an empty list counts as enabled, so
  // that with_views reports it).
  bool enabled() const { return count() != 1 || rotations.front() != 0 || shifts.front() != std::pair<int, int>{0, 0}; }
  // What is wrong with the angles (none, one that is not a quarter turn, one named twice),
  // or "" when nothing is; the same for the shifts (none, one named twice); either.
  std::string rotation_problem() const;
  std::string shift_problem() const;
  std::string problem() const {
    const std::string p = rotation_problem();
    return p.empty() ? shift_problem() : p;
  }
};

// Every image of `set` once per view: view v of image i is image i * views.count() + v, in
// the order rotation by rotation, each one plain then mirrored, each of those shift by
// shift. Labels and files follow their image. Throws Error for an angle that is not a
// multiple of 90, a repeated angle, a 90-degree rotation of images that are not square, a
// shift named twice or one as large as the image.
ImageSet with_views(const ImageSet& set, const ViewSpec& views);

}  // namespace graphrun::data
