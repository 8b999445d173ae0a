#pragma once
// Image files written by the tests themselves (with OpenCV's imwrite) into folders under the
// system's temporary directory: class trees, LFW-style people, Omniglot-style runs.
#include <doctest/doctest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace graphrun::testing {

// An empty folder <tmp>/graphrun_test_<name>, created afresh.
inline std::string fresh_folder(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("graphrun_test_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

inline void write_text(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// Writes `img` (grey, BGR or 16-bit) to `path`, creating its folder; the format follows the extension.
inline void write_image(const std::string& path, const cv::Mat& img, const std::vector<int>& params = {}) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  REQUIRE_MESSAGE(cv::imwrite(path, img, params), "cannot write the fixture ", path);
}

// One grey value everywhere.
inline cv::Mat flat_grey(int rows, int cols, int value) { return cv::Mat(rows, cols, CV_8UC1, cv::Scalar(value)); }

// A grey pattern that identifies `id`: pixel (r, c) = (37 * id + 11 * r + 5 * c + r * c) mod 256.
// Different ids give images far apart from each other.
inline cv::Mat pattern(int rows, int cols, int id) {
  cv::Mat m(rows, cols, CV_8UC1);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) m.at<uint8_t>(r, c) = uint8_t((37 * id + 11 * r + 5 * c + r * c * (id % 7 + 1)) % 256);
  return m;
}

// `base` with each pixel moved by at most `amplitude` (seeded), clamped to [0, 255].
inline cv::Mat noisy(const cv::Mat& base, int amplitude, uint64_t seed) {
  std::mt19937_64 rng(seed);
  cv::Mat m = base.clone();
  for (int r = 0; r < m.rows; ++r)
    for (int c = 0; c < m.cols; ++c) {
      const int v = int(m.at<uint8_t>(r, c)) + int(rng() % uint64_t(2 * amplitude + 1)) - amplitude;
      m.at<uint8_t>(r, c) = uint8_t(std::clamp(v, 0, 255));
    }
  return m;
}

// root/<class>/<class>_<k>.png for classes c0, c1, ... (or the given names), `images` each:
// the pattern of the class, slightly noisy per image. Returns the class names.
inline std::vector<std::string> write_class_tree(const std::string& root, int classes, int images, int rows, int cols,
                                                 const std::string& prefix = "c") {
  std::vector<std::string> names;
  for (int c = 0; c < classes; ++c) {
    const std::string name = prefix + std::to_string(c);
    names.push_back(name);
    for (int k = 0; k < images; ++k)
      write_image(root + "/" + name + "/" + name + "_" + std::to_string(k) + ".png",
                  noisy(pattern(rows, cols, c), 3, uint64_t(c * 1000 + k)));
  }
  return names;
}

// `n` random bytes under an image's name: a damaged file.
inline void write_garbage(const std::string& path, size_t n = 200, uint64_t seed = 1) {
  std::mt19937_64 rng(seed);
  std::string bytes(n, '\0');
  for (auto& b : bytes) b = char(rng() & 0xff);
  write_text(path, bytes);
}

// An LFW-style person: root/name/name_0001.jpg ... name_<count>.jpg.
inline void write_person(const std::string& root, const std::string& name, int count, int rows, int cols, int id) {
  for (int k = 1; k <= count; ++k) {
    char file[64];
    std::snprintf(file, sizeof file, "_%04d.jpg", k);
    write_image(root + "/" + name + "/" + name + file, noisy(pattern(rows, cols, id), 2, uint64_t(id * 100 + k)));
  }
}

}  // namespace graphrun::testing
