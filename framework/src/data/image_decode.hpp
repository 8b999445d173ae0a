#pragma once
// Decoding one image file into the bytes an ImageSet holds, at the size and channel count
// the graph states. OpenCV does the decoding (PNG, JPEG, PGM/PPM, BMP, TIFF) and the
// resampling; nothing here interpolates by hand.
#include <cstdint>
#include <string>

namespace graphrun::data {

struct ImageFormat {
  int64_t channels = 1, rows = 0, cols = 0;
  bool invert = false;  // 255 - value: Omniglot draws black strokes on white, networks want strokes as 1
  int64_t size() const { return channels * rows * cols; }
};

// What decoding had to change, so that a loader can say so once instead of per image.
struct DecodeNotes {
  bool resized = false, channels_converted = false, depth_converted = false;
  int64_t source_rows = 0, source_cols = 0, source_channels = 0;
};

// Decodes `path` into format.size() bytes at dst, planar (channel, row, column), RGB order
// for colour. Resizes with area averaging when shrinking, bilinear when enlarging; converts
// grey <-> colour and 16-bit -> 8-bit as needed and records it in notes. Throws Error naming
// the file when it is missing, unreadable or not an image.
DecodeNotes decode_image(const std::string& path, const ImageFormat& format, uint8_t* dst);

// True for the file extensions the image sources pick up (png, jpg, jpeg, pgm, ppm, pnm, bmp, tif, tiff).
bool is_image_file(const std::string& path);

}  // namespace graphrun::data
