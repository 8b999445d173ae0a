// The image decoder: the input's first byte picks the format asked for (grey or colour,
// inverted or not; the next byte a size from 1x1 to 16x16), the rest is the file.
#include <graphrun/error.hpp>

#include "data/image_decode.hpp"
#include "fuzz_support.hpp"

#include <cstdint>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  graphrun::data::ImageFormat format;
  format.channels = (data[0] & 1) ? 3 : 1;
  format.invert = (data[0] & 2) != 0;
  format.rows = 1 + (data[1] & 15);
  format.cols = 1 + (data[1] >> 4);
  const std::string path = graphrun::fuzz::write_file("image.png", data + 2, size - 2);
  std::vector<uint8_t> out(size_t(format.size()));
  try {
    graphrun::data::decode_image(path, format, out.data());
  } catch (const graphrun::Error&) {
  }
  return 0;
}
