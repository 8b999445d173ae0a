// Online augmentation: seeded random affine warps; the identity leaves bytes / 255; through
// the batch loader only the loader given an AugmentSpec warps.
#include <doctest/doctest.h>

#include "data/augment.hpp"
#include "data/batches.hpp"
#include "image_fixtures.hpp"

#include <cmath>
#include <cstring>

using namespace graphrun;
using namespace graphrun::data;

namespace {

constexpr int kRows = 12, kCols = 12;

// Six 12x12 grey pattern images, two per class.
ImageSet patterns() {
  ImageSet s;
  s.rows = kRows, s.cols = kCols;
  for (int i = 0; i < 6; ++i) {
    const cv::Mat m = testing::pattern(kRows, kCols, i);
    s.pixels.insert(s.pixels.end(), m.data, m.data + kRows * kCols);
    s.labels.push_back(i / 2);
    ++s.count;
  }
  return s;
}

AugmentSpec strong() {
  AugmentSpec a;
  a.rotation = 20, a.shear = 10, a.scale_min = 0.9, a.scale_max = 1.1, a.translate = 0.1;
  return a;
}

std::vector<float> warp(const ImageSet& s, int64_t i, const AugmentSpec& spec, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<float> out(size_t(s.image_size()));
  augment_image(s.image(i), s.channels, s.rows, s.cols, spec, rng, out.data());
  return out;
}

std::vector<float> unit(const ImageSet& s, int64_t i) {
  std::vector<float> out(size_t(s.image_size()));
  for (int64_t k = 0; k < s.image_size(); ++k) out[size_t(k)] = float(s.image(i)[k]) * ImageSet::kByteScale;
  return out;
}

std::vector<Pair> all_pairs(const ImageSet& s) {
  std::vector<Pair> p;
  for (uint32_t i = 0; i < uint32_t(s.count); ++i) p.push_back({i, uint32_t((i + 1) % s.count), float(i)});
  return p;
}

}  // namespace

TEST_CASE("augment: the same seed gives identical floats, another seed others") {
  const ImageSet s = patterns();
  const auto a = warp(s, 2, strong(), 11);
  CHECK(warp(s, 2, strong(), 11) == a);
  CHECK(warp(s, 2, strong(), 12) != a);
  CHECK(a != unit(s, 2));
  for (float v : a) {
    CHECK(v >= 0.f);
    CHECK(v <= 1.f);
  }
}

TEST_CASE("augment: the identity spec leaves the image as bytes / 255, and so does each zero setting") {
  const ImageSet s = patterns();
  const AugmentSpec identity;
  CHECK_FALSE(identity.enabled());
  CHECK(warp(s, 3, identity, 5) == unit(s, 3));
  AugmentSpec only_rotation;
  only_rotation.rotation = 30;
  CHECK(only_rotation.enabled());
  CHECK(warp(s, 3, only_rotation, 5) != unit(s, 3));

  // Colour: each plane is warped with the same map.
  ImageSet rgb;
  rgb.channels = 3, rgb.rows = kRows, rgb.cols = kCols, rgb.count = 1;
  const cv::Mat m = testing::pattern(kRows, kCols, 1);
  for (int c = 0; c < 3; ++c) rgb.pixels.insert(rgb.pixels.end(), m.data, m.data + kRows * kCols);
  rgb.labels = {0};
  CHECK(warp(rgb, 0, identity, 1) == unit(rgb, 0));
  const auto turned = warp(rgb, 0, strong(), 1);
  const size_t plane = size_t(kRows * kCols);
  CHECK(std::equal(turned.begin(), turned.begin() + long(plane), turned.begin() + long(plane)));
  CHECK(std::equal(turned.begin(), turned.begin() + long(plane), turned.begin() + long(2 * plane)));
  CHECK(std::vector<float>(turned.begin(), turned.begin() + long(plane)) == warp(s, 1, strong(), 1));
}

TEST_CASE("augment: a shift by a whole pixel moves the pixels") {
  ImageSet s;
  s.rows = s.cols = 5, s.count = 1, s.labels = {0};
  s.pixels.assign(25, 0);
  s.pixels[2 * 5 + 2] = 255;  // the centre
  AugmentSpec shift;
  shift.translate = 0.2;  // uniform in [-1, 1] pixels: some seed moves the dot off the centre
  bool moved = false;
  for (uint64_t seed = 0; seed < 8; ++seed) {
    const auto out = warp(s, 0, shift, seed);
    if (out[12] < 0.99f) moved = true;
    float sum = 0;
    for (float v : out) sum += v;
    CHECK(sum == doctest::Approx(1.0).epsilon(0.01));  // bilinear spreads the dot, keeps its mass
  }
  CHECK(moved);
}

TEST_CASE("augment: through the batch loader only the loader with an AugmentSpec warps") {
  const ImageSet s = patterns();
  const auto pairs = all_pairs(s);
  for (auto filling : {BatchLoader::Filling::in_next, BatchLoader::Filling::background}) {
    BatchLoader train(s, pairs, 3, false, 0, filling), again(s, pairs, 3, false, 0, filling), eval(s, pairs, 3, false, 0, filling);
    train.set_augment(strong(), 9);
    again.set_augment(strong(), 9);
    for (int64_t epoch = 0; epoch < 2; ++epoch) {
      train.start_epoch(epoch);
      again.start_epoch(epoch);
      eval.start_epoch(epoch);
      int warped = 0;
      while (const Batch* t = train.next()) {
        const Batch* a = again.next();
        const Batch* e = eval.next();
        REQUIRE(a);
        REQUIRE(e);
        CHECK(t->left == a->left);  // the same seed, epoch and batch: the same images
        CHECK(t->right == a->right);
        CHECK(t->label == e->label);
        for (int64_t k = 0; k < e->size; ++k) {
          const Pair& p = pairs[size_t(e->label[size_t(k)])];
          const size_t n = size_t(s.image_size());
          // Evaluation: exactly the bytes / 255.
          CHECK(std::vector<float>(e->left.begin() + long(k * n), e->left.begin() + long((k + 1) * n)) == unit(s, p.a));
          CHECK(std::vector<float>(e->right.begin() + long(k * n), e->right.begin() + long((k + 1) * n)) == unit(s, p.b));
          if (std::vector<float>(t->left.begin() + long(k * n), t->left.begin() + long((k + 1) * n)) != unit(s, p.a)) ++warped;
        }
      }
      CHECK(warped == 6);  // every training image warped
    }
    // Another epoch draws other warps.
    train.start_epoch(0);
    const std::vector<float> first = train.next()->left;
    train.start_epoch(1);
    CHECK(train.next()->left != first);
  }
}

TEST_CASE("augment: mirror alone flips some images exactly left to right and leaves the others as they are") {
  const ImageSet s = patterns();
  AugmentSpec a;
  a.mirror = true;
  REQUIRE(a.enabled());
  const std::vector<float> plain = unit(s, 1);
  std::vector<float> flipped(plain.size());
  for (int r = 0; r < kRows; ++r)
    for (int c = 0; c < kCols; ++c) flipped[size_t(r * kCols + c)] = plain[size_t(r * kCols + kCols - 1 - c)];
  REQUIRE(flipped != plain);
  int mirrored = 0, kept = 0;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    const std::vector<float> w = warp(s, 1, a, seed);
    bool is_flipped = true, is_plain = true;
    for (size_t k = 0; k < w.size(); ++k) {
      is_flipped = is_flipped && std::abs(w[k] - flipped[k]) < 1e-6f;
      is_plain = is_plain && std::abs(w[k] - plain[k]) < 1e-6f;
    }
    CHECK((is_flipped || is_plain));
    mirrored += is_flipped, kept += is_plain;
  }
  CHECK(mirrored >= 10);  // about half of 40 draws each way
  CHECK(kept >= 10);
}
