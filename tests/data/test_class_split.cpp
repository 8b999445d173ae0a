// Splits by class (names, range, fraction, seeded shuffle) and by image index inside each
// class, and 90-degree rotations as new classes.
#include <doctest/doctest.h>

#include <graphrun/error.hpp>

#include "data/class_split.hpp"
#include "data/image_tree.hpp"
#include "image_fixtures.hpp"

using namespace graphrun;
using namespace graphrun::data;

namespace {

// `classes` classes named k0, k1, ... of `per_class` 1x1 images each; image i holds the byte i.
ImageSet named_set(int classes, int per_class) {
  ImageSet s;
  s.rows = s.cols = 1;
  for (int c = 0; c < classes; ++c) {
    s.class_names.push_back("k" + std::to_string(c));
    for (int k = 0; k < per_class; ++k) {
      s.pixels.push_back(uint8_t(s.count++));
      s.labels.push_back(c);
    }
  }
  return s;
}

std::vector<int> bytes(const ImageSet& s) { return std::vector<int>(s.pixels.begin(), s.pixels.end()); }

ClassSelection range(int64_t begin, int64_t end) {
  ClassSelection s;
  s.begin = begin, s.end = end;
  return s;
}

}  // namespace

TEST_CASE("class split: by names, in the order given, labels renumbered") {
  const ImageSet set = named_set(4, 2);
  ClassSelection s;
  s.names = {"k2", "k0"};
  const ImageSet out = select_classes(set, s, 0, "test");
  CHECK(out.class_names == std::vector<std::string>{"k2", "k0"});
  CHECK(out.labels == std::vector<int32_t>{0, 0, 1, 1});
  CHECK(bytes(out) == std::vector<int>{4, 5, 0, 1});
  CHECK(out.num_classes() == 2);

  s.names = {"k1", "k22"};
  CHECK_THROWS_WITH_AS(select_classes(set, s, 0, "g.yaml: data.test"),
                       doctest::Contains("g.yaml: data.test: no class named 'k22' (did you mean 'k2'?)"), Error);
}

TEST_CASE("class split: a range, a fraction of it, an image range inside each class") {
  const ImageSet set = named_set(5, 4);
  const ImageSet mid = select_classes(set, range(1, 3), 0, "test");
  CHECK(mid.class_names == std::vector<std::string>{"k1", "k2"});
  CHECK(bytes(mid) == std::vector<int>{4, 5, 6, 7, 8, 9, 10, 11});

  ClassSelection to_end = range(3, -1);
  CHECK(select_classes(set, to_end, 0, "test").class_names == std::vector<std::string>{"k3", "k4"});

  ClassSelection f = range(1, 5);  // k1..k4; the second half of them
  f.from = 0.5, f.to = 1;
  CHECK(select_classes(set, f, 0, "test").class_names == std::vector<std::string>{"k3", "k4"});
  f.from = 0, f.to = 0.75;
  CHECK(select_classes(set, f, 0, "test").class_names == std::vector<std::string>{"k1", "k2", "k3"});

  ClassSelection images = range(0, 2);
  images.image_begin = 1, images.image_end = 3;
  const ImageSet some = select_classes(set, images, 0, "test");
  CHECK(bytes(some) == std::vector<int>{1, 2, 5, 6});
  CHECK(some.labels == std::vector<int32_t>{0, 0, 1, 1});
  images.image_end = 100;  // past the end: to the end of each class
  CHECK(bytes(select_classes(set, images, 0, "test")) == std::vector<int>{1, 2, 3, 5, 6, 7});

  CHECK_THROWS_WITH_AS(select_classes(set, range(2, 9), 0, "test"),
                       doctest::Contains("test: class range [2, 9) but the data has 5 classes"), Error);
  images.image_begin = 4, images.image_end = -1;
  CHECK_THROWS_WITH_AS(select_classes(set, images, 0, "test"), doctest::Contains("test: selects no image"), Error);
}

TEST_CASE("class split: a shuffled class list is seeded, and train / test fractions never overlap") {
  const ImageSet set = named_set(20, 1);
  ClassSelection s;
  s.shuffle = true;
  const auto a = select_classes(set, s, 3, "test").class_names;
  CHECK(a.size() == 20);
  CHECK(select_classes(set, s, 3, "test").class_names == a);
  CHECK(select_classes(set, s, 4, "test").class_names != a);
  CHECK(a != set.class_names);
  s.to = 0.7;
  const auto train = select_classes(set, s, 3, "test").class_names;
  s.from = 0.7, s.to = 1;
  const auto test = select_classes(set, s, 3, "test").class_names;
  CHECK(train.size() == 14);
  CHECK(test.size() == 6);
  std::vector<std::string> both = train;
  both.insert(both.end(), test.begin(), test.end());
  CHECK(both == a);  // the two parts of the same shuffled list
}

TEST_CASE("rotations: a known asymmetric image rotated by 90, 180 and 270 degrees") {
  ImageSet set;
  set.count = 2, set.rows = 3, set.cols = 3, set.channels = 1;
  set.pixels = {1, 2, 3, 4, 5, 6, 7, 8, 9,  // image 0, class 0
                9, 9, 9, 9, 9, 9, 9, 9, 0}; // image 1, class 1
  set.labels = {0, 1};
  set.class_names = {"a", "b"};
  const ImageSet out = with_rotated_classes(set, {0, 90, 180, 270});
  REQUIRE(out.count == 8);
  auto image = [&](int64_t i) { return std::vector<int>(out.image(i), out.image(i) + 9); };
  CHECK(image(0) == std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(image(1) == std::vector<int>{3, 6, 9, 2, 5, 8, 1, 4, 7});  // 90: counter-clockwise, as np.rot90
  CHECK(image(2) == std::vector<int>{9, 8, 7, 6, 5, 4, 3, 2, 1});
  CHECK(image(3) == std::vector<int>{7, 4, 1, 8, 5, 2, 9, 6, 3});
  CHECK(image(5)[2] == 0);  // image 1 at 90 degrees: bottom-right moves to top-right
  CHECK(out.labels == std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6, 7});
  CHECK(out.class_names == std::vector<std::string>{"a@0", "a@90", "a@180", "a@270", "b@0", "b@90", "b@180", "b@270"});
  CHECK(out.num_classes() == 8);

  // Colour: each plane turns on its own.
  ImageSet rgb;
  rgb.count = 1, rgb.rows = 2, rgb.cols = 2, rgb.channels = 3;
  rgb.pixels = {1, 2, 3, 4, 10, 20, 30, 40, 5, 6, 7, 8};
  rgb.labels = {0};
  const ImageSet turned = with_rotated_classes(rgb, {90});
  CHECK(std::vector<int>(turned.pixels.begin(), turned.pixels.end()) == std::vector<int>{2, 4, 1, 3, 20, 40, 10, 30, 6, 8, 5, 7});
  CHECK(turned.class_names == std::vector<std::string>{"0@90"});

  set.cols = 1, set.rows = 9;
  CHECK_THROWS_WITH_AS(with_rotated_classes(set, {0, 90}), doctest::Contains("need square images"), Error);
  CHECK_THROWS_AS(with_rotated_classes(set, {45}), Error);
}

TEST_CASE("rotations: a decoded image file turned by 90 degrees") {
  const std::string root = testing::fresh_folder("rotate");
  cv::Mat m(4, 4, CV_8UC1, cv::Scalar(0));
  m.at<uint8_t>(0, 3) = 255;  // top-right
  testing::write_image(root + "/x/1.png", m);
  const ImageSet set = decode_tree(scan_image_tree({root}), ImageFormat{1, 4, 4, false}, "test", false);
  const ImageSet out = with_rotated_classes(set, {90});
  CHECK(out.image(0)[0] == 255);  // counter-clockwise: top-right goes to top-left
  CHECK(std::count(out.pixels.begin(), out.pixels.end(), 0) == 15);
}
