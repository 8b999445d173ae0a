#include "data/image_decode.hpp"

#include <graphrun/error.hpp>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <vector>

namespace graphrun::data {
namespace {

// OpenCV allocates the whole image before it reads a pixel, at the size the header states:
// a 60-byte PNG claiming 32768 x 32768 pixels of 16-bit colour asked for 6 GB. So the size
// is read from the header first (for the formats graphrun reads; any other is refused) and
// checked against this limit, 4096 x 4096 (data sets for graphrun are a few hundred pixels
// a side; 2^24 pixels of the widest TIFF samples, 3 x 8 bytes, are 400 MB).
constexpr uint64_t kMaxImagePixels = uint64_t(1) << 24;

class HeaderReader {
 public:
  explicit HeaderReader(const std::string& path) : f_(path, std::ios::binary) {}
  bool ok() const { return bool(f_); }
  // n bytes at `offset`; false when the file ends first.
  bool at(uint64_t offset, unsigned char* dst, size_t n) {
    if (offset > uint64_t(std::numeric_limits<std::streamoff>::max())) return false;
    f_.clear();
    f_.seekg(std::streamoff(offset));
    f_.read(reinterpret_cast<char*>(dst), std::streamsize(n));
    return f_.gcount() == std::streamsize(n);
  }
  int get() { return f_.get(); }  // the next byte, or EOF
  void seek(uint64_t offset) {
    f_.clear();
    f_.seekg(std::streamoff(std::min<uint64_t>(offset, uint64_t(std::numeric_limits<std::streamoff>::max()))));
  }

 private:
  std::ifstream f_;
};

uint64_t be(const unsigned char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = v << 8 | p[i];
  return v;
}
uint64_t le(const unsigned char* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

struct HeaderSize {
  const char* format = nullptr;  // null: not a format graphrun reads
  bool found = false;            // false: the header is cut short or damaged
  uint64_t width = 0, height = 0;
};

// JPEG: the first start-of-frame segment (after any APPn, DQT, DHT...); bytes between
// segments are skipped as libjpeg does.
void jpeg_size(HeaderReader& in, HeaderSize& out) {
  in.seek(2);
  for (;;) {
    int c = in.get();
    while (c != EOF && c != 0xff) c = in.get();
    while (c == 0xff) c = in.get();
    if (c == EOF || c == 0xd9 || c == 0xda) return;  // end of image or scan data before a frame header
    if (c == 0xd8 || c == 0x01 || (c >= 0xd0 && c <= 0xd7)) continue;  // markers without a length
    unsigned char seg[7];
    const int hi = in.get(), lo = in.get();
    if (lo == EOF) return;
    const int length = hi << 8 | lo;
    if (length < 2) return;
    if (c >= 0xc0 && c <= 0xcf && c != 0xc4 && c != 0xc8 && c != 0xcc) {  // SOF0..SOF15
      for (unsigned char& b : seg) {
        const int v = in.get();
        if (v == EOF) return;
        b = static_cast<unsigned char>(v);
      }
      out.height = be(seg + 1, 2), out.width = be(seg + 3, 2);
      out.found = true;
      return;
    }
    for (int i = 2; i < length; ++i)
      if (in.get() == EOF) return;
  }
}

// PNM: P1..P6, whitespace, # comments, width, height.
void pnm_size(HeaderReader& in, HeaderSize& out) {
  in.seek(2);
  uint64_t dims[2] = {0, 0};
  int c = in.get();
  for (uint64_t& d : dims) {
    for (;;) {
      while (c != EOF && std::isspace(c)) c = in.get();
      if (c != '#') break;
      while (c != EOF && c != '\n' && c != '\r') c = in.get();
    }
    if (c == EOF || !std::isdigit(c)) return;
    for (; c != EOF && std::isdigit(c); c = in.get()) d = std::min<uint64_t>(d * 10 + uint64_t(c - '0'), uint64_t(1) << 40);
  }
  out.width = dims[0], out.height = dims[1];
  out.found = true;
}

// TIFF: ImageWidth (256) and ImageLength (257) of the first directory; classic or BigTIFF.
void tiff_size(HeaderReader& in, const unsigned char* head, HeaderSize& out) {
  const bool little = head[0] == 'I';
  auto num = [&](const unsigned char* p, int n) { return little ? le(p, n) : be(p, n); };
  const bool big = num(head + 2, 2) == 43;
  unsigned char buf[20];
  uint64_t dir = 0, count = 0;
  if (big) {
    if (!in.at(8, buf, 8)) return;
    dir = num(buf, 8);
    if (!in.at(dir, buf, 8)) return;
    count = num(buf, 8), dir += 8;
  } else {
    dir = num(head + 4, 4);
    if (!in.at(dir, buf, 2)) return;
    count = num(buf, 2), dir += 2;
  }
  const uint64_t entry = big ? 20 : 12;
  bool width = false, height = false;
  for (uint64_t i = 0; i < count && i < 65536 && !(width && height); ++i) {
    if (!in.at(dir + i * entry, buf, size_t(entry))) return;
    const uint64_t tag = num(buf, 2), type = num(buf + 2, 2), n = num(buf + 4, big ? 8 : 4);
    const unsigned char* value = buf + (big ? 12 : 8);
    if ((tag != 256 && tag != 257) || n != 1) continue;
    uint64_t v = 0;
    if (type == 3) v = num(value, 2);                // SHORT
    else if (type == 4) v = num(value, 4);           // LONG
    else if (type == 16 && big) v = num(value, 8);   // LONG8
    else return;
    (tag == 256 ? out.width : out.height) = v;
    (tag == 256 ? width : height) = true;
  }
  out.found = width && height;
}

HeaderSize header_size(const std::string& path) {
  HeaderSize out;
  HeaderReader in(path);
  unsigned char head[26] = {};
  if (!in.ok() || !in.at(0, head, 3)) return out;
  in.at(0, head, sizeof head);  // what there is of it
  if (std::memcmp(head, "\x89PNG\r\n\x1a\n", 8) == 0) {
    out.format = "PNG";
    if (in.at(0, head, 24) && std::memcmp(head + 12, "IHDR", 4) == 0)
      out.width = be(head + 16, 4), out.height = be(head + 20, 4), out.found = true;
  } else if (head[0] == 0xff && head[1] == 0xd8 && head[2] == 0xff) {
    out.format = "JPEG";
    jpeg_size(in, out);
  } else if (head[0] == 'P' && head[1] >= '1' && head[1] <= '6' && std::isspace(head[2])) {
    out.format = "PNM";
    pnm_size(in, out);
  } else if (head[0] == 'B' && head[1] == 'M') {
    out.format = "BMP";
    if (in.at(0, head, 26)) {
      const uint64_t info = le(head + 14, 4);
      if (info == 12) {  // OS/2 1.x: 16-bit sizes
        out.width = le(head + 18, 2), out.height = le(head + 20, 2), out.found = true;
      } else {  // 32-bit signed sizes; a negative height means top-down rows
        const int64_t w = int32_t(uint32_t(le(head + 18, 4))), h = int32_t(uint32_t(le(head + 22, 4)));
        out.width = uint64_t(std::max<int64_t>(w, 0)), out.height = uint64_t(h < 0 ? -h : h), out.found = true;
      }
    }
  } else if ((std::memcmp(head, "II", 2) == 0 && (head[2] == 42 || head[2] == 43) && head[3] == 0) ||
             (std::memcmp(head, "MM", 2) == 0 && head[2] == 0 && (head[3] == 42 || head[3] == 43))) {
    out.format = "TIFF";
    if (in.at(0, head, 8)) tiff_size(in, head, out);
  }
  return out;
}

}  // namespace

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
  const HeaderSize header = header_size(path);
  if (!header.format || !header.found)
    throw Error(path + ": not an image graphrun can read, or damaged (expected PNG, JPEG, PGM, BMP or TIFF)");
  if (header.width == 0 || header.height == 0 || header.width > kMaxImagePixels || header.height > kMaxImagePixels ||
      header.width * header.height > kMaxImagePixels)
    throw Error(path + ": the " + header.format + " header gives a size of " + std::to_string(header.width) + " x " +
                std::to_string(header.height) + " pixels; graphrun reads images of 1 to " + std::to_string(kMaxImagePixels) +
                " pixels (4096 x 4096)");
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
