// Lighting augmentation: a gamma, a brightness shift and a contrast factor about each
// plane's mean, clipped to [0, 1], drawn only when asked for; the graph file's ranges are
// checked.
#include <doctest/doctest.h>

#include <graphrun/error.hpp>

#include "data/augment.hpp"
#include "graph/spec.hpp"
#include "image_fixtures.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

using namespace graphrun;
using namespace graphrun::data;

namespace {

constexpr int kRows = 10, kCols = 8;

std::vector<float> apply(const std::vector<uint8_t>& bytes, const AugmentSpec& spec, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<float> out(bytes.size());
  augment_image(bytes.data(), 1, kRows, kCols, spec, rng, out.data());
  return out;
}

std::vector<uint8_t> pattern_bytes() {
  const cv::Mat m = testing::pattern(kRows, kCols, 3);
  return std::vector<uint8_t>(m.data, m.data + kRows * kCols);
}

double mean(const std::vector<float>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / double(v.size()); }

std::string refusal(const std::string& augment) {
  const std::string path = testing::fresh_folder("lighting_graph") + "/g.yaml";
  testing::write_text(path, "name: l\ninputs:\n  x: {shape: [1, 4, 4]}\nnodes:\n  y: {op: flatten, input: x}\noutput: y\n"
                            "data: {format: images, path: imgs, train: {}, augment: " + augment + "}\n");
  try {
    load_graph_spec(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "accepted";
}

}  // namespace

TEST_CASE("augment lighting: brightness shifts every value by one draw in [-b, b]") {
  const std::vector<uint8_t> grey(kRows * kCols, 128);
  AugmentSpec a;
  a.brightness = 0.2;
  REQUIRE(a.enabled());
  int up = 0, down = 0;
  for (uint64_t seed = 0; seed < 30; ++seed) {
    const auto out = apply(grey, a, seed);
    const float shift = out[0] - 128.f / 255.f;
    for (float v : out) CHECK(v == doctest::Approx(out[0]).epsilon(1e-6));
    CHECK(std::abs(shift) <= 0.2f + 1e-6f);
    up += shift > 0.02f, down += shift < -0.02f;
  }
  CHECK(up >= 5);
  CHECK(down >= 5);
}

TEST_CASE("augment lighting: contrast scales each value's distance from the mean by one factor") {
  const auto bytes = pattern_bytes();
  std::vector<float> plain(bytes.size());
  std::transform(bytes.begin(), bytes.end(), plain.begin(), [](uint8_t b) { return float(b) / 255.f; });
  const double m = mean(plain);
  AugmentSpec a;
  a.contrast_min = 0.5, a.contrast_max = 0.9;  // below 1: nothing leaves [0, 1], nothing is clipped
  std::vector<double> factors;
  for (uint64_t seed = 0; seed < 10; ++seed) {
    const auto out = apply(bytes, a, seed);
    CHECK(mean(out) == doctest::Approx(m).epsilon(1e-5));
    size_t far = 0;  // the pixel farthest from the mean fixes the factor
    for (size_t k = 0; k < plain.size(); ++k)
      if (std::abs(plain[k] - m) > std::abs(plain[far] - m)) far = k;
    const double f = (out[far] - m) / (plain[far] - m);
    CHECK(f >= 0.5 - 1e-5);
    CHECK(f <= 0.9 + 1e-5);
    for (size_t k = 0; k < plain.size(); ++k) CHECK(out[k] - m == doctest::Approx(f * (plain[k] - m)).epsilon(1e-4).scale(1));
    factors.push_back(f);
  }
  CHECK(*std::max_element(factors.begin(), factors.end()) - *std::min_element(factors.begin(), factors.end()) > 0.1);
}

TEST_CASE("augment lighting: values are clipped to [0, 1] and the warp comes first") {
  const auto bytes = pattern_bytes();
  AugmentSpec a;
  a.contrast_min = a.contrast_max = 4;
  a.brightness = 0.5;
  int at_zero = 0, at_one = 0;
  for (uint64_t seed = 0; seed < 10; ++seed)
    for (float v : apply(bytes, a, seed)) {
      CHECK(v >= 0.f);
      CHECK(v <= 1.f);
      at_zero += v == 0.f, at_one += v == 1.f;
    }
  CHECK(at_zero > 0);
  CHECK(at_one > 0);

  // With a warp too, the same seed gives the same image, and the lighting draws come after
  // the warp's: the warp alone, then lit, agree where the lighting is the identity.
  AugmentSpec warp_only;
  warp_only.rotation = 20;
  AugmentSpec lit = warp_only;
  lit.contrast_min = lit.contrast_max = 1;
  lit.brightness = 0.3;
  CHECK(apply(bytes, lit, 4) == apply(bytes, lit, 4));
  const auto w = apply(bytes, warp_only, 4), l = apply(bytes, lit, 4);
  REQUIRE(w != l);
  const float shift = l[0] - w[0];
  for (size_t k = 0; k < w.size(); ++k)
    if (w[k] + shift >= 0 && w[k] + shift <= 1) CHECK(l[k] == doctest::Approx(w[k] + shift).epsilon(1e-5));
}

TEST_CASE("augment lighting: gamma raises every value to one power drawn in [min, max], black and white kept") {
  const auto bytes = pattern_bytes();
  AugmentSpec fixed;
  fixed.gamma_min = fixed.gamma_max = 2;
  REQUIRE(fixed.enabled());
  const auto squared = apply(bytes, fixed, 0);
  for (size_t k = 0; k < bytes.size(); ++k) CHECK(squared[k] == doctest::Approx(std::pow(bytes[k] / 255.0, 2)).epsilon(1e-5));

  AugmentSpec a;
  a.gamma_min = 0.5, a.gamma_max = 2;
  const std::vector<uint8_t> ends = {0, 255, 64, 128};
  std::vector<uint8_t> image(kRows * kCols);
  for (size_t k = 0; k < image.size(); ++k) image[k] = ends[k % ends.size()];
  std::vector<double> gammas;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const auto out = apply(image, a, seed);
    CHECK(out[0] < 1e-6f);  // OpenCV's pow leaves about 1e-20 at 0
    CHECK(out[1] == doctest::Approx(1.0));
    const double g = std::log(out[2]) / std::log(64 / 255.0);  // the draw, read off one pixel
    CHECK(g >= 0.5 - 1e-4);
    CHECK(g <= 2 + 1e-4);
    CHECK(out[3] == doctest::Approx(std::pow(128 / 255.0, g)).epsilon(1e-4));  // one power for the image
    gammas.push_back(g);
  }
  CHECK(*std::min_element(gammas.begin(), gammas.end()) < 0.8);
  CHECK(*std::max_element(gammas.begin(), gammas.end()) > 1.25);

  // Contrast and brightness act on the gamma's values.
  AugmentSpec both = fixed;
  both.brightness = 0.1;
  const auto lit = apply(bytes, both, 3);
  const float shift = lit[0] - squared[0];
  CHECK(std::abs(shift) <= 0.1f + 1e-6f);
  for (size_t k = 0; k < bytes.size(); ++k)
    if (squared[k] + shift >= 0 && squared[k] + shift <= 1) CHECK(lit[k] == doctest::Approx(squared[k] + shift).epsilon(1e-5));
}

TEST_CASE("augment lighting: the graph file's ranges are checked") {
  CHECK(refusal("{gamma: [0.7, 1.5]}") == "accepted");
  CHECK(refusal("{gamma: [0, 1.5]}").find("'gamma' must be [min, max] exponents") != std::string::npos);
  CHECK(refusal("{gamma: [1.5, 0.7]}").find("'gamma' must be [min, max] exponents") != std::string::npos);
  CHECK(refusal("{gamma: [1, .inf]}").find("'gamma' must be [min, max] exponents") != std::string::npos);
  CHECK(refusal("{brightness: 0.2, contrast: [0.8, 1.2]}") == "accepted");
  CHECK(refusal("{brightness: -0.1}").find("'brightness' is a shift") != std::string::npos);
  CHECK(refusal("{brightness: 1.5}").find("'brightness' is a shift") != std::string::npos);
  CHECK(refusal("{brightness: .nan}").find("'brightness' is a shift") != std::string::npos);
  CHECK(refusal("{contrast: [1.2, 0.8]}").find("'contrast' must be [min, max]") != std::string::npos);
  CHECK(refusal("{contrast: [-1, 1]}").find("'contrast' must be [min, max]") != std::string::npos);
  CHECK(refusal("{contrast: [1, .inf]}").find("'contrast' must be [min, max]") != std::string::npos);
  CHECK(refusal("{contrast: 0.5}").find("'contrast'") != std::string::npos);
  CHECK(refusal("{rotation: .nan}").find("'rotation' is degrees") != std::string::npos);
  CHECK(refusal("{lighting: 1}").find("lighting") != std::string::npos);
}
