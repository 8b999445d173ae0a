// Random erasing: with probability p, one rectangle of the image (the same in every plane,
// of an area and aspect within the asked ranges) is replaced by noise in [0, 1]; drawn only
// when asked for; the graph file's ranges are checked.
#include <doctest/doctest.h>

#include <graphrun/error.hpp>

#include "data/augment.hpp"
#include "graph/spec.hpp"
#include "image_fixtures.hpp"

#include <algorithm>

using namespace graphrun;
using namespace graphrun::data;

namespace {

constexpr int kRows = 20, kCols = 16, kPlane = kRows * kCols;

std::vector<float> apply(const std::vector<uint8_t>& bytes, int channels, const AugmentSpec& spec, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<float> out(bytes.size());
  augment_image(bytes.data(), channels, kRows, kCols, spec, rng, out.data());
  return out;
}

// The bounding box of the values that differ from `value`: {top, left, bottom, right}, or
// all -1 when none does.
std::array<int, 4> changed_box(const std::vector<float>& plane, float value) {
  std::array<int, 4> box{-1, -1, -1, -1};
  for (int y = 0; y < kRows; ++y)
    for (int x = 0; x < kCols; ++x) {
      if (plane[y * kCols + x] == value) continue;
      if (box[0] < 0) box = {y, x, y, x};
      box = {std::min(box[0], y), std::min(box[1], x), std::max(box[2], y), std::max(box[3], x)};
    }
  return box;
}

std::string refusal(const std::string& augment) {
  const std::string path = testing::fresh_folder("erase_graph") + "/g.yaml";
  testing::write_text(path, "name: e\ninputs:\n  x: {shape: [1, 4, 4]}\nnodes:\n  y: {op: flatten, input: x}\noutput: y\n"
                            "data: {format: images, path: imgs, train: {}, augment: " + augment + "}\n");
  try {
    load_graph_spec(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "accepted";
}

}  // namespace

TEST_CASE("augment erase: one rectangle of noise, within the area and aspect asked for, in every plane") {
  const std::vector<uint8_t> white(2 * kPlane, 255);  // two planes: the rectangle must be the same in both
  AugmentSpec a;
  a.erase_probability = 1;
  a.erase_area_min = 0.1, a.erase_area_max = 0.2;
  a.erase_aspect_min = 0.5, a.erase_aspect_max = 2;
  REQUIRE(a.enabled());
  std::vector<std::array<int, 4>> boxes;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    const auto out = apply(white, 2, a, seed);
    const std::vector<float> p0(out.begin(), out.begin() + kPlane), p1(out.begin() + kPlane, out.end());
    const auto box = changed_box(p0, 1.f);
    REQUIRE(box[0] >= 0);
    CHECK(changed_box(p1, 1.f) == box);
    const int h = box[2] - box[0] + 1, w = box[3] - box[1] + 1;
    // Rounding to whole pixels moves the area by up to one row and one column.
    CHECK(double((h + 1) * (w + 1)) >= 0.1 * kPlane);
    CHECK(double((h - 1) * (w - 1)) <= 0.2 * kPlane);
    CHECK(double(h + 1) / double(w - 1) >= 0.5);
    CHECK(double(h - 1) / double(w + 1) <= 2.0);
    int noisy = 0;
    for (float v : out) {
      CHECK(v >= 0.f);
      CHECK(v <= 1.f);
      noisy += v < 0.99f;
    }
    CHECK(noisy > h * w);  // noise, not one value: nearly all of both planes' rectangles
    boxes.push_back(box);
  }
  std::sort(boxes.begin(), boxes.end());
  CHECK(std::unique(boxes.begin(), boxes.end()) - boxes.begin() > 20);  // placed at random
}

TEST_CASE("augment erase: drawn with its probability, and only when asked for") {
  const std::vector<uint8_t> white(kPlane, 255);
  AugmentSpec a;
  a.erase_probability = 0.5;
  int erased = 0;
  for (uint64_t seed = 0; seed < 200; ++seed) erased += changed_box(apply(white, 1, a, seed), 1.f)[0] >= 0;
  CHECK(erased > 70);
  CHECK(erased < 130);

  // Without erasing, the generator is left as the other settings leave it: a warp's images
  // are the same bit for bit with the erase fields at their defaults, and erasing keeps the
  // warp's draws (outside its rectangle, the image is the warp's).
  const cv::Mat m = testing::pattern(kRows, kCols, 5);
  const std::vector<uint8_t> bytes(m.data, m.data + kPlane);
  AugmentSpec warp;
  warp.rotation = 15;
  AugmentSpec warp_erase = warp;
  warp_erase.erase_probability = 1;
  const auto w = apply(bytes, 1, warp, 9), we = apply(bytes, 1, warp_erase, 9);
  REQUIRE(w != we);
  int same = 0;
  for (int k = 0; k < kPlane; ++k) same += w[k] == we[k];
  CHECK(same >= int((1 - warp_erase.erase_area_max) * kPlane) - kRows - kCols);
}

TEST_CASE("augment erase: the graph file's ranges are checked") {
  CHECK(refusal("{erase: {probability: 0.5, area: [0.02, 0.2], aspect: [0.3, 3.3]}}") == "accepted");
  CHECK(refusal("{erase: {}}") == "accepted");
  CHECK(refusal("{erase: 0.5}").find("must be a mapping") != std::string::npos);
  CHECK(refusal("{erase: {probability: 1.5}}").find("'probability' must be in [0, 1]") != std::string::npos);
  CHECK(refusal("{erase: {probability: .nan}}").find("'probability' must be in [0, 1]") != std::string::npos);
  CHECK(refusal("{erase: {area: [0, 0.2]}}").find("'area' must be [min, max]") != std::string::npos);
  CHECK(refusal("{erase: {area: [0.3, 0.2]}}").find("'area' must be [min, max]") != std::string::npos);
  CHECK(refusal("{erase: {area: [0.1, 1.5]}}").find("'area' must be [min, max]") != std::string::npos);
  CHECK(refusal("{erase: {aspect: [0, 2]}}").find("'aspect' must be [min, max]") != std::string::npos);
  CHECK(refusal("{erase: {aspect: [1, .inf]}}").find("'aspect' must be [min, max]") != std::string::npos);
  CHECK(refusal("{erase: {size: 3}}").find("size") != std::string::npos);
}
