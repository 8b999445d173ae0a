// LFW pair lists: pairsDevTrain-style (`count`) and pairs.txt-style (`folds count`) files
// over an LFW-style tree (name/name_0001.jpg), and their errors, each naming file:line.
#include <doctest/doctest.h>

#include <graphrun/error.hpp>

#include "data/pair_file.hpp"
#include "image_fixtures.hpp"

using namespace graphrun;
using namespace graphrun::data;

namespace {

// Alice has 3 images, Bob 2, Carol 1; each person's images are a pattern of their own.
std::string people() {
  const std::string root = testing::fresh_folder("lfw");
  testing::write_person(root, "Alice", 3, 8, 8, 1);
  testing::write_person(root, "Bob", 2, 8, 8, 2);
  testing::write_person(root, "Carol", 1, 8, 8, 3);
  return root;
}

std::string pair_file(const std::string& root, const std::string& name, const std::string& text) {
  const std::string path = root + "/" + name;
  testing::write_text(path, text);
  return path;
}

std::string jpg(const std::string& root, const std::string& name, int k) {
  char file[32];
  std::snprintf(file, sizeof file, "_%04d.jpg", k);
  return root + "/" + name + "/" + name + file;
}

const ImageFormat kFormat{1, 8, 8, false};

std::string error_of(const std::string& root, const std::string& text) {
  const std::string file = pair_file(root, "bad.txt", text);
  try {
    read_pair_file(file, root);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("pair file: pairsDevTrain-style count, then same and different pairs") {
  const std::string root = people();
  const std::string file = pair_file(root, "pairsDevTrain.txt",
                                     "2\n"
                                     "Alice\t1\t2\n"
                                     "Bob\t1\t2\n"
                                     "\n"
                                     "Alice\t3\tCarol\t1\n"
                                     "Bob\t2\tAlice\t1\n");
  const auto entries = read_pair_file(file, root);
  REQUIRE(entries.size() == 4);
  CHECK(entries[0].a == jpg(root, "Alice", 1));
  CHECK(entries[0].b == jpg(root, "Alice", 2));
  CHECK(entries[0].same);
  CHECK(entries[0].line == 2);
  CHECK(entries[1].same);
  CHECK(entries[2].a == jpg(root, "Alice", 3));
  CHECK(entries[2].b == jpg(root, "Carol", 1));
  CHECK_FALSE(entries[2].same);
  CHECK(entries[2].line == 5);  // the blank line counts
  CHECK(entries[3].line == 6);

  const PairData data = load_pair_file(file, root, kFormat, 1, false);
  // Each image is decoded once however many pairs name it: Alice 1 appears twice.
  CHECK(data.images.count == 6);
  CHECK(data.images.class_names == std::vector<std::string>{"Alice", "Bob", "Carol"});
  REQUIRE(data.pairs.size() == 4);
  CHECK(data.pairs[0].a == data.pairs[3].b);  // Alice_0001
  CHECK(data.images.files[data.pairs[0].a] == jpg(root, "Alice", 1));
  CHECK(data.images.files[data.pairs[2].b] == jpg(root, "Carol", 1));
  std::vector<float> labels;
  for (const Pair& p : data.pairs) labels.push_back(p.label);
  CHECK(labels == std::vector<float>{1, 1, 0, 0});
  for (const Pair& p : data.pairs) {  // a same pair joins one person's images, a different one two people's
    const bool same_person = data.images.labels[p.a] == data.images.labels[p.b];
    CHECK(same_person == (p.label == 1));
  }
  // The bytes are the files' (JPEG: close to the written pattern, not exact).
  const cv::Mat alice = testing::pattern(8, 8, 1);
  const uint8_t* img = data.images.image(data.pairs[0].a);
  int worst = 0;
  for (int k = 0; k < 64; ++k) worst = std::max(worst, std::abs(int(img[k]) - int(alice.data[k])));
  CHECK(worst < 40);

  // same_label 0: a same pair is 0, a different one 1.
  const PairData flipped = load_pair_file(file, root, kFormat, 0, false);
  CHECK(flipped.pairs[0].label == 0);
  CHECK(flipped.pairs[2].label == 1);
}

TEST_CASE("pair file: pairs.txt-style 'folds count' promises folds x (count same + count different)") {
  const std::string root = people();
  const std::string file = pair_file(root, "pairs.txt",
                                     "2 1\n"
                                     "Alice 1 3\n"
                                     "Alice 2 Bob 1\n"
                                     "Bob 1 2\n"
                                     "Carol 1 Alice 2\n");
  const auto entries = read_pair_file(file, root);
  REQUIRE(entries.size() == 4);
  CHECK(entries[0].same);
  CHECK_FALSE(entries[1].same);
  CHECK(entries[2].same);
  CHECK_FALSE(entries[3].same);
  const PairData data = load_pair_file(file, root, kFormat, 1, false);
  CHECK(data.images.count == 6);
  CHECK(data.pairs[1].a == data.pairs[3].b);  // Alice_0002 shared
}

TEST_CASE("pair file: every error names file:line") {
  const std::string root = people();
  const std::string file = root + "/bad.txt";
  SUBCASE("a count line that is not a number") {
    const std::string msg = error_of(root, "two\nAlice 1 2\n");
    CHECK(msg.find(file + ":1: the pair count must be a positive whole number, got 'two'") == 0);
  }
  SUBCASE("a count of zero") { CHECK(error_of(root, "0\n").find(file + ":1: ") == 0); }
  SUBCASE("a count line of three numbers") {
    const std::string msg = error_of(root, "\n1 2 3\n");
    CHECK(msg.find(file + ":2: the first line must be 'count' or 'folds count'") == 0);
  }
  SUBCASE("a line of the wrong shape") {
    const std::string msg = error_of(root, "1\nAlice 1 2\nBob 1\n");
    CHECK(msg.find(file + ":3: expected 'name i j'") == 0);
  }
  SUBCASE("a line of five words") {
    CHECK(error_of(root, "1\nAlice 1 Bob 1 2\n").find(file + ":2: expected") == 0);
  }
  SUBCASE("a non-numeric index") {
    const std::string msg = error_of(root, "1\nAlice one 2\nAlice 1 Bob 1\n");
    CHECK(msg.find(file + ":2: an image number must be a positive whole number, got 'one'") == 0);
  }
  SUBCASE("an index with trailing letters or zero") {
    CHECK(error_of(root, "1\nAlice 1 2x\nAlice 1 Bob 1\n").find(file + ":2: ") == 0);
    CHECK(error_of(root, "1\nAlice 1 2\nAlice 0 Bob 1\n").find(file + ":3: ") == 0);
  }
  SUBCASE("an image that does not exist") {
    const std::string msg = error_of(root, "1\nAlice 1 2\nAlice 1 Bob 9\n");
    CHECK(msg.find(file + ":3: names " + jpg(root, "Bob", 9) + ", which does not exist") == 0);
  }
  SUBCASE("a person that does not exist") {
    CHECK(error_of(root, "1\nDave 1 2\nAlice 1 Bob 1\n").find(file + ":2: names " + jpg(root, "Dave", 1)) == 0);
  }
  SUBCASE("fewer pairs than the count line promises") {
    const std::string msg = error_of(root, "2\nAlice 1 2\nAlice 1 Bob 1\n");
    CAPTURE(msg);
    CHECK(msg.find(file + ":1: the count line promises 4 pairs but the file holds 2") == 0);
  }
  SUBCASE("more pairs than the count line promises") {
    const std::string msg = error_of(root, "1\nAlice 1 2\nAlice 1 Bob 1\nBob 1 2\n");
    CAPTURE(msg);
    CHECK(msg.find(file + ":4: ") == 0);
    CHECK(msg.find("one pair more than the 2 pairs") != std::string::npos);
  }
  SUBCASE("an empty file") { CHECK(error_of(root, "\n\n").find(file + ": empty pair file") == 0); }
  SUBCASE("a missing pair file") {
    CHECK_THROWS_WITH_AS(read_pair_file(root + "/none.txt", root), doctest::Contains(std::string(root + "/none.txt: cannot open").c_str()), Error);
  }
}
