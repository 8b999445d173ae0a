// The IDX reader. An input is a 2-byte little-endian length L, then L bytes of the images
// file (fewer if the input ends first), then the labels file: both go to temporary files,
// raw or gzip (read_idx detects gzip by content).
#include <graphrun/error.hpp>

#include "data/idx.hpp"
#include "fuzz_support.hpp"

#include <algorithm>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t images = std::min<size_t>(size - 2, size_t(data[0]) | size_t(data[1]) << 8);
  const std::string images_path = graphrun::fuzz::write_file("images-idx3-ubyte", data + 2, images);
  const std::string labels_path = graphrun::fuzz::write_file("labels-idx1-ubyte", data + 2 + images, size - 2 - images);
  try {
    const graphrun::data::ImageSet set = graphrun::data::read_idx(images_path, labels_path);
    // What the rest of graphrun relies on after a successful read.
    if (set.count < 1 || int64_t(set.pixels.size()) != set.count * set.image_size() ||
        int64_t(set.labels.size()) != set.count)
      __builtin_trap();
  } catch (const graphrun::Error&) {
  }
  return 0;
}
