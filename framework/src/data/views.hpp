#pragma once
// Test-time views of an image: its 90-degree rotations and, if asked, their mirror images.
// An evaluation that embeds every view and joins the embeddings compares two images view by
// view, rotated (and mirrored) alike: under squared euclidean distance, the sum of the
// views' distances. A cheap ensemble that needs no retraining.
#include "data/idx.hpp"

#include <string>
#include <vector>

namespace graphrun::data {

struct ViewSpec {
  std::vector<int> rotations{0};  // degrees, each of 0, 90, 180, 270
  bool mirror = false;            // each rotation also mirrored left to right
  int64_t count() const { return int64_t(rotations.size()) * (mirror ? 2 : 1); }
  bool enabled() const { return count() > 1 || rotations.front() != 0; }
  // What is wrong with the angles (none, one that is not a quarter turn, one named twice),
  // or "" when nothing is.
  std::string problem() const;
};

// Every image of `set` once per view: view v of image i is image i * views.count() + v, in
// the order rotation by rotation, each one plain then mirrored. Labels and files follow
// their image. Throws Error for an angle that is not a multiple of 90, a repeated angle, or
// a 90-degree rotation of images that are not square.
ImageSet with_views(const ImageSet& set, const ViewSpec& views);

}  // namespace graphrun::data
