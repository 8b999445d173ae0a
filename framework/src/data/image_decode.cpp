#include "data/image_decode.hpp"

#include <graphrun/error.hpp>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <vector>

namespace graphrun::data {

bool is_image_file(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  static const char* kExtensions[] = {".png", ".jpg", ".jpeg", ".pgm", ".ppm", ".pnm", ".bmp", ".tif", ".tiff"};
  return std::any_of(std::begin(kExtensions), std::end(kExtensions), [&](const char* e) { return ext == e; });
}

DecodeNotes decode_image(const std::string& path, const ImageFormat& format, uint8_t* dst) {
  if (format.channels != 1 && format.channels != 3)
    throw Error("images: " + std::to_string(format.channels) + " channels asked for; graphrun reads grey (1) or colour (3) images");
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw Error(path + ": no such image file");
  cv::Mat img;
  try {
    img = cv::imread(path, cv::IMREAD_ANYDEPTH | cv::IMREAD_ANYCOLOR);
  } catch (const cv::Exception& e) {
    throw Error(path + ": cannot decode the image (" + e.msg + ")");
  }
  if (img.empty()) throw Error(path + ": not an image graphrun can read, or damaged (expected PNG, JPEG, PGM, BMP or TIFF)");

  DecodeNotes notes;
  notes.source_rows = img.rows, notes.source_cols = img.cols, notes.source_channels = img.channels();
  if (img.depth() != CV_8U) {  // 16-bit PNG/PGM, float TIFF: scale to bytes
    double lo = 0, hi = 255;
    if (img.depth() == CV_16U) hi = 65535;
    else if (img.depth() == CV_32F || img.depth() == CV_64F) {
      cv::minMaxLoc(img.reshape(1), &lo, &hi);
      lo = std::min(lo, 0.0), hi = std::max(hi, 1.0);
    }
    cv::Mat bytes;
    img.convertTo(bytes, CV_8U, 255.0 / (hi - lo), -lo * 255.0 / (hi - lo));
    img = bytes;
    notes.depth_converted = true;
  }
  const int want = int(format.channels);
  if (img.channels() != want) {
    cv::Mat converted;
    if (want == 1) cv::cvtColor(img, converted, img.channels() == 4 ? cv::COLOR_BGRA2GRAY : cv::COLOR_BGR2GRAY);
    else cv::cvtColor(img, converted, img.channels() == 4 ? cv::COLOR_BGRA2RGB : cv::COLOR_GRAY2RGB);
    img = converted;
    notes.channels_converted = true;
  } else if (want == 3) {
    cv::cvtColor(img, img, cv::COLOR_BGR2RGB);
  }
  if (img.rows != format.rows || img.cols != format.cols) {
    cv::Mat resized;
    const bool shrinking = img.rows * img.cols > format.rows * format.cols;
    cv::resize(img, resized, cv::Size(int(format.cols), int(format.rows)), 0, 0, shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);
    img = resized;
    notes.resized = true;
  }
  if (format.invert) cv::bitwise_not(img, img);
  if (!img.isContinuous()) img = img.clone();
  // OpenCV holds pixels interleaved (row, column, channel); an ImageSet holds them planar.
  const int64_t plane = format.rows * format.cols;
  if (want == 1) {
    std::memcpy(dst, img.data, size_t(plane));
  } else {
    const uint8_t* src = img.data;
    for (int64_t p = 0; p < plane; ++p)
      for (int64_t c = 0; c < 3; ++c) dst[c * plane + p] = src[p * 3 + c];
  }
  return notes;
}

}  // namespace graphrun::data
