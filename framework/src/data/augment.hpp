#pragma once
// Online augmentation of training images: a random affine map per image (rotation, shear,
// scale, translation), drawn from a seeded generator, applied with OpenCV's warpAffine.
#include <cstdint>
#include <random>

namespace graphrun::data {

struct AugmentSpec {
  double rotation = 0;                 // degrees: uniform in [-rotation, rotation]
  double shear = 0;                    // degrees: uniform in [-shear, shear], along x
  double scale_min = 1, scale_max = 1; // uniform in [scale_min, scale_max]
  double translate = 0;                // fraction of the image size: uniform in [-translate, translate] on each axis
  bool mirror = false;                 // mirrored left to right with probability 1/2 (faces; not characters)
  bool enabled() const { return rotation != 0 || shear != 0 || scale_min != 1 || scale_max != 1 || translate != 0 || mirror; }
};

// Warps one planar image of `channels` x rows x cols bytes into floats in [0, 1] at dst,
// about the image centre, bilinear, the border replicated. The same generator state gives
// the same image.
void augment_image(const uint8_t* src, int64_t channels, int64_t rows, int64_t cols, const AugmentSpec& spec,
                   std::mt19937_64& rng, float* dst);

}  // namespace graphrun::data
