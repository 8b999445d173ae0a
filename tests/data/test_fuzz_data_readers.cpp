// What fuzzing the data readers found (tests/fuzz, tools/fuzz.sh), each kept as a case here
// and as a file of the fuzzers' seed corpora (tests/fuzz/corpus/<target>/found_*).
#include <doctest/doctest.h>
#include <graphrun/error.hpp>

#include "data/image_decode.hpp"
#include "idx_files.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

using namespace graphrun;
using namespace graphrun::data;
using graphrun::testing::TempDir;

namespace {

std::vector<unsigned char> bytes_of(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// A seed of fuzz_image_decode: a format byte (bit 0 colour, bit 1 inverted), a size byte
// (rows - 1 in the low 4 bits, cols - 1 in the high 4), then the image file.
struct Seed {
  ImageFormat format;
  std::string path;
};

Seed image_seed(const TempDir& dir, const std::filesystem::path& file) {
  const std::vector<unsigned char> b = bytes_of(file);
  REQUIRE(b.size() > 2);
  Seed s;
  s.format.channels = (b[0] & 1) ? 3 : 1;
  s.format.invert = (b[0] & 2) != 0;
  s.format.rows = 1 + (b[1] & 15);
  s.format.cols = 1 + (b[1] >> 4);
  s.path = dir.file(file.filename().string());
  testing::write_raw(s.path, std::vector<unsigned char>(b.begin() + 2, b.end()));
  return s;
}

std::string decode_error(const Seed& s) {
  std::vector<uint8_t> out(size_t(s.format.size()));
  try {
    decode_image(s.path, s.format, out.data());
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

const std::filesystem::path kImageSeeds = std::filesystem::path(GRAPHRUN_SOURCE_DIR) / "tests/fuzz/corpus/image_decode";

}  // namespace

TEST_CASE("fuzz findings: image headers claiming billions of pixels are refused before decoding") {
  // Was: OpenCV allocating what the header states before reading a pixel: 6 GB for a 60-byte
  // PNG (32768 x 32768, 16-bit colour), 2-3 GB for PGM, PPM and BMP headers, 1.8 GB and 4 s
  // for a TIFF one.
  TempDir dir;
  const struct {
    const char *file, *size;
  } cases[] = {{"found_huge.png", "PNG header gives a size of 32768 x 32768 pixels"},
               {"found_huge.pgm", "PNM header gives a size of 32768 x 32768 pixels"},
               {"found_huge.ppm", "PNM header gives a size of 32768 x 32768 pixels"},
               {"found_huge.bmp", "BMP header gives a size of 30000 x 30000 pixels"},
               {"found_huge.jpg", "JPEG header gives a size of 30000 x 30000 pixels"},
               {"found_huge.tif", "TIFF header gives a size of 30000 x 30000 pixels"}};
  for (const auto& c : cases) {
    const Seed s = image_seed(dir, kImageSeeds / c.file);
    const std::string msg = decode_error(s);
    CAPTURE(msg);
    CHECK(msg == s.path + ": the " + c.size + "; graphrun reads images of 1 to 16777216 pixels (4096 x 4096)");
  }
}

TEST_CASE("fuzz findings: the header check reads what OpenCV writes, in every format graphrun reads") {
  // The seeds of fuzz_image_decode (JPEG baseline and progressive, TIFF of 8, 16 and 32-bit
  // float samples, BMP, PNG, binary and ASCII PGM / PPM / PBM) all decode.
  TempDir dir;
  int seeds = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kImageSeeds)) {
    if (entry.path().filename().string().rfind("found_", 0) == 0) continue;
    const Seed s = image_seed(dir, entry.path());
    CAPTURE(s.path);
    CHECK(decode_error(s) == "(no error)");
    ++seeds;
  }
  CHECK(seeds >= 20);
}

TEST_CASE("fuzz findings: formats other than graphrun's are refused by their signature") {
  TempDir dir;
  const std::string gif = dir.file("a.png");
  testing::write_raw(gif, {'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0, 0, 0, ';'});
  std::vector<uint8_t> out(4);
  ImageFormat f;
  f.rows = 2, f.cols = 2;
  std::string msg;
  try {
    decode_image(gif, f, out.data());
  } catch (const Error& e) {
    msg = e.what();
  }
  CHECK(msg == gif + ": not an image graphrun can read, or damaged (expected PNG, JPEG, PGM, BMP or TIFF)");
  // A zero-sized image is refused as well (OpenCV would fail it later, or allocate nothing).
  const std::string empty = dir.file("e.pgm");
  testing::write_raw(empty, {'P', '5', '\n', '0', ' ', '3', '\n', '2', '5', '5', '\n'});
  msg.clear();
  try {
    decode_image(empty, f, out.data());
  } catch (const Error& e) {
    msg = e.what();
  }
  CHECK(msg.find(empty + ": the PNM header gives a size of 0 x 3 pixels") == 0);
}
