// Class-per-folder image trees: scanning one and two levels and several roots, decoding PNG,
// JPEG, PGM, colour and 16-bit files to the graph's format, and the errors that name a path.
#include <doctest/doctest.h>

#include <graphrun/error.hpp>

#include "data/image_tree.hpp"
#include "image_fixtures.hpp"

#include <opencv2/imgcodecs.hpp>

using namespace graphrun;
using namespace graphrun::data;
using graphrun::testing::fresh_folder;
using graphrun::testing::write_image;

namespace {

ImageFormat grey(int64_t rows, int64_t cols, bool invert = false) { return ImageFormat{1, rows, cols, invert}; }

// Decodes one file into a vector.
std::vector<uint8_t> decoded(const std::string& path, const ImageFormat& f, DecodeNotes* notes = nullptr) {
  std::vector<uint8_t> out(size_t(f.size()), 7);
  const DecodeNotes n = decode_image(path, f, out.data());
  if (notes) *notes = n;
  return out;
}

bool all_equal(const std::vector<uint8_t>& v, int value, int tolerance = 0) {
  for (uint8_t x : v)
    if (std::abs(int(x) - value) > tolerance) return false;
  return true;
}

std::string error_of(const std::vector<std::string>& roots) {
  try {
    decode_tree(scan_image_tree(roots), grey(4, 4), "test", false);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("image tree: one level of class folders, sorted, README at the root ignored") {
  const std::string root = fresh_folder("tree_one");
  testing::write_class_tree(root, 3, 2, 4, 4, "k");
  testing::write_text(root + "/README.txt", "not a class");
  testing::write_text(root + "/k1/.hidden", "ignored");
  const ImageTree tree = scan_image_tree({root});
  REQUIRE(tree.classes == std::vector<std::string>{"k0", "k1", "k2"});
  CHECK(tree.images() == 6);
  CHECK(tree.files[1] == std::vector<std::string>{root + "/k1/k1_0.png", root + "/k1/k1_1.png"});

  const ImageSet set = decode_tree(tree, grey(4, 4), "test", false);
  CHECK(set.count == 6);
  CHECK(set.labels == std::vector<int32_t>{0, 0, 1, 1, 2, 2});
  CHECK(set.class_names == tree.classes);
  CHECK(set.files[4] == root + "/k2/k2_0.png");
  // Every image holds its own file's bytes, in order.
  for (int64_t i = 0; i < set.count; ++i) {
    const cv::Mat file = cv::imread(set.files[size_t(i)], cv::IMREAD_GRAYSCALE);
    CHECK(std::equal(set.image(i), set.image(i) + 16, file.data));
  }
}

TEST_CASE("image tree: two levels (group/class) name classes by their relative path") {
  const std::string root = fresh_folder("tree_two");
  testing::write_class_tree(root + "/Greek", 2, 1, 4, 4, "character0");
  testing::write_class_tree(root + "/Latin", 1, 3, 4, 4, "character0");
  const ImageTree tree = scan_image_tree({root});
  CHECK(tree.classes == std::vector<std::string>{"Greek/character00", "Greek/character01", "Latin/character00"});
  CHECK(tree.files[2].size() == 3);
  CHECK(decode_tree(tree, grey(4, 4), "test", false).labels == std::vector<int32_t>{0, 1, 2, 2, 2});
}

TEST_CASE("image tree: two roots sharing a class and a file merge into one class without duplicates") {
  const std::string a = fresh_folder("tree_root_a"), b = fresh_folder("tree_root_b");
  write_image(a + "/shared/x.png", testing::flat_grey(4, 4, 10));
  write_image(a + "/shared/y.png", testing::flat_grey(4, 4, 20));
  write_image(b + "/shared/y.png", testing::flat_grey(4, 4, 99));  // same relative path: the first root's file wins
  write_image(b + "/shared/z.png", testing::flat_grey(4, 4, 30));
  write_image(b + "/other/w.png", testing::flat_grey(4, 4, 40));
  const ImageTree tree = scan_image_tree({a, b});
  REQUIRE(tree.classes == std::vector<std::string>{"other", "shared"});
  CHECK(tree.files[1] == std::vector<std::string>{a + "/shared/x.png", a + "/shared/y.png", b + "/shared/z.png"});
  const ImageSet set = decode_tree(tree, grey(4, 4), "test", false);
  REQUIRE(set.count == 4);
  CHECK(set.image(0)[0] == 40);
  CHECK(set.image(2)[0] == 20);
  CHECK(set.labels == std::vector<int32_t>{0, 1, 1, 1});
}

TEST_CASE("image decode: PNG, PGM and JPEG grey values, invert, colour to grey and grey to colour") {
  const std::string dir = fresh_folder("decode");
  write_image(dir + "/g.png", testing::flat_grey(5, 6, 200));
  write_image(dir + "/g.pgm", testing::flat_grey(5, 6, 200));
  write_image(dir + "/g.jpg", testing::flat_grey(16, 16, 200), {cv::IMWRITE_JPEG_QUALITY, 100});
  CHECK(all_equal(decoded(dir + "/g.png", grey(5, 6)), 200));
  CHECK(all_equal(decoded(dir + "/g.png", grey(5, 6, true)), 55));
  CHECK(all_equal(decoded(dir + "/g.pgm", grey(5, 6)), 200));
  CHECK(all_equal(decoded(dir + "/g.pgm", grey(5, 6, true)), 55));
  CHECK(all_equal(decoded(dir + "/g.jpg", grey(16, 16)), 200, 1));

  // OpenCV writes BGR: pure red is (0, 0, 255).
  write_image(dir + "/red.png", cv::Mat(2, 3, CV_8UC3, cv::Scalar(0, 0, 255)));
  DecodeNotes notes;
  const auto rgb = decoded(dir + "/red.png", ImageFormat{3, 2, 3, false}, &notes);
  CHECK_FALSE(notes.channels_converted);
  CHECK(std::vector<uint8_t>(rgb.begin(), rgb.begin() + 6) == std::vector<uint8_t>(6, 255));  // the R plane first
  CHECK(std::vector<uint8_t>(rgb.begin() + 6, rgb.end()) == std::vector<uint8_t>(12, 0));
  const auto as_grey = decoded(dir + "/red.png", grey(2, 3), &notes);
  CHECK(notes.channels_converted);
  CHECK(notes.source_channels == 3);
  CHECK(all_equal(as_grey, 76));  // 0.299 * 255

  const auto grey_as_rgb = decoded(dir + "/g.png", ImageFormat{3, 5, 6, false}, &notes);
  CHECK(notes.channels_converted);
  CHECK(all_equal(grey_as_rgb, 200));
  CHECK(grey_as_rgb.size() == 90);

  write_image(dir + "/rgba.png", cv::Mat(2, 2, CV_8UC4, cv::Scalar(255, 0, 0, 255)));  // pure blue, opaque
  const auto blue = decoded(dir + "/rgba.png", ImageFormat{3, 2, 2, false});
  CHECK(std::vector<uint8_t>(blue.begin(), blue.begin() + 8) == std::vector<uint8_t>(8, 0));
  CHECK(std::vector<uint8_t>(blue.begin() + 8, blue.end()) == std::vector<uint8_t>(4, 255));
}

TEST_CASE("image decode: resizing to the stated size, 16-bit scaled to bytes") {
  const std::string dir = fresh_folder("decode_size");
  cv::Mat halves(8, 8, CV_8UC1, cv::Scalar(0));
  halves(cv::Rect(4, 0, 4, 8)).setTo(200);  // left half 0, right half 200
  write_image(dir + "/halves.png", halves);
  DecodeNotes notes;
  const auto small = decoded(dir + "/halves.png", grey(4, 4), &notes);
  CHECK(notes.resized);
  CHECK(notes.source_rows == 8);
  CHECK(notes.source_cols == 8);
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) CHECK(int(small[size_t(r * 4 + c)]) == (c < 2 ? 0 : 200));
  const auto tall = decoded(dir + "/halves.png", grey(16, 2), &notes);
  CHECK(notes.resized);
  CHECK(tall.size() == 32);

  cv::Mat deep(3, 3, CV_16UC1, cv::Scalar(257 * 100));
  deep.at<uint16_t>(0, 0) = 65535;
  write_image(dir + "/deep.png", deep);
  const auto bytes = decoded(dir + "/deep.png", grey(3, 3), &notes);
  CHECK(notes.depth_converted);
  CHECK(bytes[0] == 255);
  CHECK(std::all_of(bytes.begin() + 1, bytes.end(), [](uint8_t v) { return v == 100; }));

  // decode_tree resizes every image to the format and keeps the labels.
  const std::string root = fresh_folder("tree_resize");
  write_image(root + "/a/1.png", halves);
  write_image(root + "/b/1.png", testing::flat_grey(3, 5, 9));
  const ImageSet set = decode_tree(scan_image_tree({root}), grey(4, 4), "test", false);
  CHECK(set.rows == 4);
  CHECK(set.cols == 4);
  CHECK(set.pixels.size() == 32);
  CHECK(set.image(1)[5] == 9);
}

TEST_CASE("image tree: each bad tree is one error naming the path") {
  const std::string base = fresh_folder("tree_errors");
  SUBCASE("missing root") {
    const std::string msg = error_of({base + "/nowhere"});
    CHECK(msg.find(base + "/nowhere: no such folder") == 0);
  }
  SUBCASE("a root with no class folders") {
    testing::write_text(base + "/flat/README", "x");
    write_image(base + "/flat/loose.png", testing::flat_grey(4, 4, 1));
    const std::string msg = error_of({base + "/flat"});
    CHECK(msg.find(base + "/flat: holds no class folders") == 0);
  }
  SUBCASE("an empty class folder, sorted last or first") {
    for (const std::string empty : {"z_empty", "a_empty"}) {
      const std::string root = base + "/t_" + empty;
      testing::write_class_tree(root, 2, 2, 4, 4, "b");
      std::filesystem::create_directories(root + "/" + empty);
      const std::string msg = error_of({root});
      CAPTURE(msg);
      CHECK(msg.find(root + "/" + empty + ": empty class folder") == 0);
    }
  }
  SUBCASE("an empty class folder in a two-level tree") {
    testing::write_class_tree(base + "/g/alpha", 2, 1, 4, 4);
    std::filesystem::create_directories(base + "/g/beta/c0");
    const std::string msg = error_of({base + "/g"});
    CAPTURE(msg);
    CHECK(msg.find(base + "/g/beta/c0: empty class folder") == 0);
  }
  SUBCASE("a non-image file in a class folder") {
    testing::write_class_tree(base + "/n", 2, 2, 4, 4);
    testing::write_text(base + "/n/c1/notes.txt", "hello");
    const std::string msg = error_of({base + "/n"});
    CHECK(msg.find(base + "/n/c1/notes.txt: not an image file") == 0);
  }
  SUBCASE("a corrupt .png") {
    testing::write_class_tree(base + "/c", 2, 2, 4, 4);
    testing::write_garbage(base + "/c/c1/c1_9.png");
    const std::string msg = error_of({base + "/c"});
    CAPTURE(msg);
    CHECK(msg.find(base + "/c/c1/c1_9.png: ") == 0);
    CHECK(msg.find("damaged") != std::string::npos);
  }
  SUBCASE("a missing image file") {
    CHECK_THROWS_WITH_AS(decoded(base + "/none.png", grey(2, 2)), doctest::Contains(std::string(base + "/none.png: no such image file").c_str()), Error);
  }
}

TEST_CASE("image tree: is_image_file knows the extensions in any case") {
  CHECK(is_image_file("a/b.PNG"));
  CHECK(is_image_file("x.jpeg"));
  CHECK(is_image_file("x.pgm"));
  CHECK(is_image_file("x.TIF"));
  CHECK_FALSE(is_image_file("x.txt"));
  CHECK_FALSE(is_image_file("png"));
}
