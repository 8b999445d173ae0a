#include "data/augment.hpp"

#include "data/random.hpp"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

namespace graphrun::data {
namespace {

double uniform(std::mt19937_64& rng, double lo, double hi) { return lo + (hi - lo) * uniform_unit(rng); }

// Drawn only when erasing is asked for; the rectangle is clipped to the image.
void erase_rectangle(int64_t channels, int64_t rows, int64_t cols, const AugmentSpec& spec, std::mt19937_64& rng,
                     float* dst) {
  if (!(uniform_unit(rng) < spec.erase_probability)) return;
  const double area = uniform(rng, spec.erase_area_min, spec.erase_area_max) * double(rows * cols);
  const double aspect = std::exp(uniform(rng, std::log(spec.erase_aspect_min), std::log(spec.erase_aspect_max)));
  const int64_t h = std::clamp<int64_t>(std::llround(std::sqrt(area * aspect)), 1, rows);
  const int64_t w = std::clamp<int64_t>(std::llround(std::sqrt(area / aspect)), 1, cols);
  const int64_t top = std::min<int64_t>(int64_t(uniform_unit(rng) * double(rows - h + 1)), rows - h);
  const int64_t left = std::min<int64_t>(int64_t(uniform_unit(rng) * double(cols - w + 1)), cols - w);
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t y = top; y < top + h; ++y)
      for (int64_t x = left; x < left + w; ++x) dst[(c * rows + y) * cols + x] = float(uniform_unit(rng));
}

}  // namespace

void augment_image(const uint8_t* src, int64_t channels, int64_t rows, int64_t cols, const AugmentSpec& spec,
                   std::mt19937_64& rng, float* dst) {
  // Every value is drawn even when its range is empty, so that one setting's change does not
  // shift the others' random streams.
  const double angle = uniform(rng, -spec.rotation, spec.rotation) * M_PI / 180;
  const double shear = std::tan(uniform(rng, -spec.shear, spec.shear) * M_PI / 180);
  const double scale = uniform(rng, spec.scale_min, spec.scale_max);
  const double tx = uniform(rng, -spec.translate, spec.translate) * double(cols);
  const double ty = uniform(rng, -spec.translate, spec.translate) * double(rows);
  // Drawn only when asked for, so that graphs without it keep their images bit for bit.
  const double flip = spec.mirror && uniform_unit(rng) < 0.5 ? -1 : 1;
  const double shift = spec.lighting() ? uniform(rng, -spec.brightness, spec.brightness) : 0;
  const double contrast = spec.lighting() ? uniform(rng, spec.contrast_min, spec.contrast_max) : 1;
  const double gamma = spec.gamma() ? std::exp(uniform(rng, std::log(spec.gamma_min), std::log(spec.gamma_max))) : 1;
  // Destination -> source is not needed: warpAffine inverts the forward map itself.
  // Forward map about the centre: x' = R * S * H * F * (x - c) + c + t, F = diag(flip, 1).
  const double ca = std::cos(angle) * scale, sa = std::sin(angle) * scale;
  const double m00 = ca * flip, m01 = ca * shear - sa, m10 = sa * flip, m11 = sa * shear + ca;
  const double cx = 0.5 * double(cols - 1), cy = 0.5 * double(rows - 1);
  const cv::Matx23d m(m00, m01, cx + tx - m00 * cx - m01 * cy, m10, m11, cy + ty - m10 * cx - m11 * cy);
  const int64_t plane = rows * cols;
  for (int64_t c = 0; c < channels; ++c) {
    const cv::Mat in(int(rows), int(cols), CV_8UC1, const_cast<uint8_t*>(src + c * plane));
    cv::Mat warped;
    cv::warpAffine(in, warped, m, in.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
    cv::Mat out(int(rows), int(cols), CV_32FC1, dst + c * plane);
    if (!spec.lighting() && !spec.gamma()) {
      warped.convertTo(out, CV_32F, 1.0 / 255.0);
      continue;
    }
    // contrast * (x - mean) + mean + shift, with x = byte / 255, or (byte / 255)^gamma.
    if (spec.gamma()) {
      warped.convertTo(out, CV_32F, 1.0 / 255.0);
      cv::pow(out, gamma, out);
      const double mean = cv::mean(out)[0];
      out.convertTo(out, CV_32F, contrast, (1 - contrast) * mean + shift);
    } else {
      const double mean = cv::mean(warped)[0] / 255.0;
      warped.convertTo(out, CV_32F, contrast / 255.0, (1 - contrast) * mean + shift);
    }
    cv::min(cv::max(out, 0.0), 1.0, out);
  }
  if (spec.erase_probability > 0) erase_rectangle(channels, rows, cols, spec, rng, dst);
}

}  // namespace graphrun::data
