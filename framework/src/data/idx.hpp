#pragma once
// IDX image sets (MNIST, Fashion-MNIST): the big-endian format of LeCun's MNIST files,
// raw or gzip-compressed.
#include <cstdint>
#include <string>
#include <vector>

namespace graphrun::data {

// A labelled set of same-sized images, pixels in [0, 1], stored image after image
// (channels, rows, cols within each image).
struct ImageSet {
  int64_t count = 0, channels = 1, rows = 0, cols = 0;
  // The bytes of the file, image after image: 4x less memory, and 4x less to read when a
  // batch gathers its images, than the floats they stand for.
  std::vector<uint8_t> pixels;
  std::vector<int32_t> labels;
  // Image trees and pair files: the name of each label, and the file each image came from.
  std::vector<std::string> class_names;
  std::vector<std::string> files;
  static constexpr float kByteScale = 1.0f / 255.0f;  // a pixel's value is byte * kByteScale

  // One more than the largest label (0 for an empty set).
  int32_t num_classes() const;
  int64_t image_size() const { return channels * rows * cols; }
  // Start of image i (not range checked: used once per image per batch).
  const uint8_t* image(int64_t i) const { return pixels.data() + i * image_size(); }
  // Image i as image_size() values in [0, 1].
  void copy_image(int64_t i, float* dst) const;
  // Asks the memory system for image i ahead of a copy_image (a batch's images are random
  // rows of a large set: copying waited on memory for 70% of its time).
  void prefetch(int64_t i) const {
    const uint8_t* p = image(i);
    for (int64_t off = 0; off < image_size(); off += 64) __builtin_prefetch(p + off);
  }
};

// Reads an IDX images file (magic 0x00000803) and its labels file (magic 0x00000801).
// Either may be gzip-compressed (detected by content, not by name). Throws graphrun::Error
// naming the file on a missing file, wrong magic, truncated data, absurd dims or when the
// two files disagree on the number of images.
ImageSet read_idx(const std::string& images_path, const std::string& labels_path);

// Finds the files of one split ("train" -> train-*, "test" -> t10k-*) in a folder, under
// either of the usual spellings (train-images-idx3-ubyte, train-images.idx3-ubyte), raw or .gz.
ImageSet load_idx_folder(const std::string& folder, const std::string& split);

// Images [begin, end) as a new set (e.g. R4 trains on the first 30,000 and validates on the rest).
ImageSet slice(const ImageSet& set, int64_t begin, int64_t end);

}  // namespace graphrun::data
