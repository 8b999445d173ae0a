// IDX reading: round trips of small files the test writes, each class of bad file, and
// (when present) the real MNIST files.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <graphrun/error.hpp>

#include "data/idx.hpp"
#include "idx_files.hpp"

using namespace graphrun;
using namespace graphrun::data;
using graphrun::testing::TempDir;
namespace t = graphrun::testing;

namespace {

// 5 images of 3x2 with distinct pixel bytes, labels 0..3.
const std::vector<unsigned char> kPixels = [] {
  std::vector<unsigned char> p(5 * 3 * 2);
  for (size_t i = 0; i < p.size(); ++i) p[i] = static_cast<unsigned char>(i * 8 + 3);
  p[7] = 255;
  p[8] = 0;
  return p;
}();
const std::vector<unsigned char> kLabels = {3, 0, 2, 1, 3};

void check_tiny(const ImageSet& s) {
  CHECK(s.count == 5);
  CHECK(s.channels == 1);
  CHECK(s.rows == 3);
  CHECK(s.cols == 2);
  CHECK(s.image_size() == 6);
  REQUIRE(s.pixels.size() == kPixels.size());
  for (size_t i = 0; i < kPixels.size(); ++i) CHECK(int(s.pixels[i]) == int(kPixels[i]));
  std::vector<float> values(6);
  for (int64_t img = 0; img < s.count; ++img) {  // each image as floats in [0, 1]
    s.copy_image(img, values.data());
    for (size_t k = 0; k < 6; ++k) CHECK(values[k] == doctest::Approx(kPixels[size_t(img) * 6 + k] / 255.0).epsilon(1e-6));
  }
  s.copy_image(1, values.data());
  CHECK(values[1] == 1.0f);  // pixel 7
  CHECK(values[2] == 0.0f);  // pixel 8
  CHECK(s.labels == std::vector<int32_t>{3, 0, 2, 1, 3});
  CHECK(s.num_classes() == 4);
  CHECK(s.image(2) == s.pixels.data() + 12);
}

std::string error_of(const std::string& images, const std::string& labels) {
  try {
    read_idx(images, labels);
  } catch (const Error& e) {
    return e.what();
  }
  FAIL("read_idx accepted a bad file");
  return "";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("idx: raw round trip") {
  TempDir dir;
  t::write_raw(dir.file("img"), t::idx_images(5, 3, 2, kPixels));
  t::write_raw(dir.file("lab"), t::idx_labels(5, kLabels));
  check_tiny(read_idx(dir.file("img"), dir.file("lab")));
}

TEST_CASE("idx: gzip round trip, detected by content") {
  TempDir dir;
  t::write_gz(dir.file("img.gz"), t::idx_images(5, 3, 2, kPixels));
  t::write_gz(dir.file("lab"), t::idx_labels(5, kLabels));  // no .gz suffix: still recognised
  REQUIRE(t::read_bytes(dir.file("lab"))[0] == 0x1f);
  check_tiny(read_idx(dir.file("img.gz"), dir.file("lab")));
}

TEST_CASE("idx: load_idx_folder finds either spelling, raw or gz") {
  TempDir dir;
  t::write_gz(dir.file("train-images.idx3-ubyte.gz"), t::idx_images(5, 3, 2, kPixels));
  t::write_raw(dir.file("train-labels-idx1-ubyte"), t::idx_labels(5, kLabels));
  t::write_raw(dir.file("t10k-images-idx3-ubyte"), t::idx_images(1, 3, 2, std::vector<unsigned char>(6, 51)));
  t::write_gz(dir.file("t10k-labels.idx1-ubyte.gz"), t::idx_labels(1, {7}));
  check_tiny(load_idx_folder(dir.str(), "train"));
  const ImageSet test = load_idx_folder(dir.str(), "test");
  CHECK(test.count == 1);
  CHECK(test.labels == std::vector<int32_t>{7});
  std::vector<float> values(6);
  test.copy_image(0, values.data());
  CHECK(values[5] == doctest::Approx(0.2));
}

TEST_CASE("idx: load_idx_folder errors list what was looked for") {
  TempDir dir;
  std::string msg;
  try {
    load_idx_folder(dir.str(), "train");
  } catch (const Error& e) {
    msg = e.what();
  }
  INFO(msg);
  CHECK(contains(msg, dir.str()));
  CHECK(contains(msg, "train-images-idx3-ubyte"));
  CHECK(contains(msg, "train-images-idx3-ubyte.gz"));
  CHECK(contains(msg, "train-images.idx3-ubyte"));
  CHECK(contains(msg, "train-images.idx3-ubyte.gz"));

  t::write_raw(dir.file("t10k-images-idx3-ubyte"), t::idx_images(5, 3, 2, kPixels));
  CHECK_THROWS_WITH_AS(load_idx_folder(dir.str(), "test"), doctest::Contains("t10k-labels-idx1-ubyte"), Error);
  CHECK_THROWS_WITH_AS(load_idx_folder(dir.file("nowhere"), "train"),
                       doctest::Contains("IDX dataset folder not found"), Error);
  CHECK_THROWS_WITH_AS(load_idx_folder(dir.str(), "validation"), doctest::Contains("'train' or 'test'"), Error);
}

TEST_CASE("idx: missing file names the file") {
  TempDir dir;
  t::write_raw(dir.file("lab"), t::idx_labels(5, kLabels));
  const std::string msg = error_of(dir.file("absent-images"), dir.file("lab"));
  INFO(msg);
  CHECK(contains(msg, dir.file("absent-images") + ": cannot open IDX images file"));
  CHECK(contains(msg, "No such file"));
}

TEST_CASE("idx: wrong magic says what was expected and found") {
  TempDir dir;
  t::write_raw(dir.file("img"), t::idx_images(5, 3, 2, kPixels));
  t::write_raw(dir.file("lab"), t::idx_labels(5, kLabels));
  // Swapped arguments.
  std::string msg = error_of(dir.file("lab"), dir.file("img"));
  INFO(msg);
  CHECK(contains(msg, dir.file("lab") + ": wrong magic number: expected 0x00000803"));
  CHECK(contains(msg, "found 0x00000801"));
  CHECK(contains(msg, "swapped"));
  // Not IDX at all.
  t::write_raw(dir.file("text"), std::vector<unsigned char>{'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd',
                                                            '!', '!', '!', '!', '!'});
  msg = error_of(dir.file("text"), dir.file("lab"));
  CHECK(contains(msg, "expected 0x00000803 (IDX images) but found 0x68656c6c (not an IDX file)"));
}

TEST_CASE("idx: truncated pixel data reports promised and present bytes") {
  TempDir dir;
  std::vector<unsigned char> bytes = t::idx_images(4, 3, 2, std::vector<unsigned char>(10, 1));
  t::write_raw(dir.file("img"), bytes);
  t::write_raw(dir.file("lab"), t::idx_labels(4, {0, 1, 2, 3}));
  std::string msg = error_of(dir.file("img"), dir.file("lab"));
  INFO(msg);
  CHECK(contains(msg, dir.file("img") +
                          ": truncated: header promises 4 images of 3x2 (24 bytes) but the file holds 10 bytes"));

  // The same through gzip, and a gzip stream that is itself cut short.
  t::write_gz(dir.file("img.gz"), bytes);
  msg = error_of(dir.file("img.gz"), dir.file("lab"));
  CHECK(contains(msg, "header promises 4 images of 3x2 (24 bytes) but the file holds 10 bytes (uncompressed)"));
  t::write_gz(dir.file("full.gz"), t::idx_images(4, 3, 2, std::vector<unsigned char>(24, 1)));
  std::vector<unsigned char> gz = t::read_bytes(dir.file("full.gz"));
  gz.resize(gz.size() - 12);  // drop the trailer and part of the deflate data
  t::write_raw(dir.file("cut.gz"), gz);
  msg = error_of(dir.file("cut.gz"), dir.file("lab"));
  CHECK(contains(msg, dir.file("cut.gz") + ": truncated: header promises 4 images of 3x2 (24 bytes)"));

  // Labels too, and a header cut short.
  t::write_raw(dir.file("img"), t::idx_images(4, 3, 2, std::vector<unsigned char>(24, 1)));
  t::write_raw(dir.file("lab"), t::idx_labels(4, {0, 1}));
  msg = error_of(dir.file("img"), dir.file("lab"));
  CHECK(contains(msg, dir.file("lab") + ": truncated: header promises 4 labels (4 bytes) but the file holds 2 bytes"));
  t::write_raw(dir.file("short"), std::vector<unsigned char>{0, 0, 8, 3, 0, 0});
  msg = error_of(dir.file("short"), dir.file("lab"));
  CHECK(contains(msg, "16-byte header but the file holds 6 bytes"));
}

TEST_CASE("idx: image and label counts must agree") {
  TempDir dir;
  t::write_raw(dir.file("img"), t::idx_images(5, 3, 2, kPixels));
  t::write_raw(dir.file("lab"), t::idx_labels(4, {0, 1, 2, 3}));
  const std::string msg = error_of(dir.file("img"), dir.file("lab"));
  INFO(msg);
  CHECK(contains(msg, dir.file("img") + " holds 5 images but " + dir.file("lab") + " holds 4 labels"));
}

TEST_CASE("idx: absurd dims are refused before reading") {
  TempDir dir;
  t::write_raw(dir.file("lab"), t::idx_labels(1, {0}));
  t::write_raw(dir.file("img"), t::idx_images(1, 0x1c000000, 28, {}));  // a little-endian 28
  std::string msg = error_of(dir.file("img"), dir.file("lab"));
  INFO(msg);
  CHECK(contains(msg, "absurd dims in header: 1 images of 469762048x28"));
  t::write_raw(dir.file("img"), t::idx_images(0, 28, 28, {}));
  CHECK(contains(error_of(dir.file("img"), dir.file("lab")), "absurd dims in header: 0 images"));
}

TEST_CASE("idx: slice copies a range and checks it") {
  TempDir dir;
  t::write_raw(dir.file("img"), t::idx_images(5, 3, 2, kPixels));
  t::write_raw(dir.file("lab"), t::idx_labels(5, kLabels));
  const ImageSet all = read_idx(dir.file("img"), dir.file("lab"));
  const ImageSet mid = slice(all, 1, 4);
  CHECK(mid.count == 3);
  CHECK(mid.rows == 3);
  CHECK(mid.cols == 2);
  CHECK(mid.labels == std::vector<int32_t>{0, 2, 1});
  CHECK(std::vector<uint8_t>(mid.image(0), mid.image(0) + 6) == std::vector<uint8_t>(all.image(1), all.image(1) + 6));
  CHECK(std::vector<uint8_t>(mid.image(2), mid.image(2) + 6) == std::vector<uint8_t>(all.image(3), all.image(3) + 6));
  CHECK(slice(all, 5, 5).count == 0);
  CHECK_THROWS_WITH_AS(slice(all, 2, 6), doctest::Contains("[2, 6) is out of range: the set holds 5 images"), Error);
  CHECK_THROWS_AS(slice(all, 3, 2), Error);
  CHECK_THROWS_AS(slice(all, -1, 2), Error);
}

TEST_CASE("idx: real MNIST, when present") {
  namespace fs = std::filesystem;
  std::string folder = GRAPHRUN_SOURCE_DIR "/data/mnist";
  if (!fs::is_directory(folder)) {
    const char* env = std::getenv("GRAPHRUN_MNIST_DIR");
    folder = env ? env : "";
  }
  if (folder.empty() || !fs::is_directory(folder)) {
    MESSAGE("MNIST not found in " GRAPHRUN_SOURCE_DIR "/data/mnist or $GRAPHRUN_MNIST_DIR: skipped");
    return;
  }
  const ImageSet train = load_idx_folder(folder, "train");
  const ImageSet test = load_idx_folder(folder, "test");
  CHECK(train.count == 60000);
  CHECK(test.count == 10000);
  for (const ImageSet* s : {&train, &test}) {
    CHECK(s->rows == 28);
    CHECK(s->cols == 28);
    CHECK(s->num_classes() == 10);
    CHECK(*std::min_element(s->labels.begin(), s->labels.end()) == 0);
    CHECK(*std::max_element(s->pixels.begin(), s->pixels.end()) == 255);
    CHECK(*std::min_element(s->pixels.begin(), s->pixels.end()) == 0);
  }
}
