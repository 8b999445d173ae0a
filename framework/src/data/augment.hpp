#pragma once
// Online augmentation of training images: a random affine map per image (rotation, shear,
// scale, translation), drawn from a seeded generator, applied with OpenCV's warpAffine, then
// a random gamma (value^gamma), a random brightness shift and contrast factor (lighting),
// then a random rectangle replaced by noise (random erasing, Zhong et al. 2017).
#include <cstdint>
#include <random>

namespace graphrun::data {

struct AugmentSpec {
  double rotation = 0;                 // degrees: uniform in [-rotation, rotation]
  double shear = 0;                    // degrees: uniform in [-shear, shear], along x
  double scale_min = 1, scale_max = 1; // uniform in [scale_min, scale_max]
  double translate = 0;                // fraction of the image size: uniform in [-translate, translate] on each axis
  bool mirror = false;                 // mirrored left to right with probability 1/2 (faces; not characters)
  double brightness = 0;               // added to every value in [0, 1]: uniform in [-brightness, brightness]
  double contrast_min = 1, contrast_max = 1;  // each plane's deviation from its mean times uniform in [min, max]
  double gamma_min = 1, gamma_max = 1; // every value in [0, 1] to the power gamma, log-uniform in [min, max]
  double erase_probability = 0;        // a rectangle of every plane set to uniform noise in [0, 1]
  double erase_area_min = 0.02, erase_area_max = 0.33;  // its area: this fraction of the image's
  double erase_aspect_min = 0.3, erase_aspect_max = 3.3;  // its height / width: log-uniform
  bool lighting() const { return brightness != 0 || contrast_min != 1 || contrast_max != 1; }
  bool gamma() const { return gamma_min != 1 || gamma_max != 1; }
  bool enabled() const {
    return rotation != 0 || shear != 0 || scale_min != 1 || scale_max != 1 || translate != 0 || mirror || lighting() ||
           gamma() || erase_probability > 0;
  }
};

// Warps one planar image of `channels` x rows x cols bytes into floats in [0, 1] at dst,
// about the image centre, bilinear, the border replicated; with gamma, each value v becomes
// v^gamma (a darker or lighter midtone, black and white kept); with lighting, the values are then
// shifted and stretched about each plane's mean and clipped to [0, 1]; with erasing, one
// rectangle (the same in every plane) is then filled with noise. The same generator state
// gives the same image.
void augment_image(const uint8_t* src, int64_t channels, int64_t rows, int64_t cols, const AugmentSpec& spec,
                   std::mt19937_64& rng, float* dst);

}  // namespace graphrun::data
