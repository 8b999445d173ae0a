// One-shot tasks: the official Omniglot runs layout read back from a synthetic folder, its
// errors, and N-way K-shot tasks drawn from a labelled set.
#include <doctest/doctest.h>

#include <graphrun/error.hpp>

#include "data/oneshot_runs.hpp"
#include "image_fixtures.hpp"

#include <algorithm>
#include <set>

using namespace graphrun;
using namespace graphrun::data;

namespace {

const ImageFormat kFormat{1, 4, 4, false};

// runNN/training/classKK.png (flat grey 10 * run + KK) and runNN/test/itemKK.png (flat grey
// 100 + 10 * run + KK); item k belongs to class answers[k].
std::string write_run(const std::string& root, int run, const std::vector<int>& answers) {
  char name[16];
  std::snprintf(name, sizeof name, "run%02d", run);
  std::string labels;
  for (size_t k = 0; k < answers.size(); ++k) {
    char train[64], test[64];
    std::snprintf(train, sizeof train, "%s/training/class%02d.png", name, int(k) + 1);
    std::snprintf(test, sizeof test, "%s/test/item%02d.png", name, int(k) + 1);
    testing::write_image(root + "/" + train, testing::flat_grey(4, 4, 10 * run + int(k) + 1));
    testing::write_image(root + "/" + test, testing::flat_grey(4, 4, 100 + 10 * run + int(k) + 1));
    std::snprintf(train, sizeof train, "%s/training/class%02d.png", name, answers[k] + 1);
    labels += std::string(test) + " " + train + "\n";
  }
  testing::write_text(root + "/" + name + "/class_labels.txt", labels);
  return root + "/" + name + "/class_labels.txt";
}

// `classes` classes of `per_class` images; image i holds the byte i.
ImageSet labelled(int classes, int per_class) {
  ImageSet s;
  s.rows = s.cols = 1;
  for (int c = 0; c < classes; ++c)
    for (int k = 0; k < per_class; ++k) {
      s.pixels.push_back(uint8_t(s.count++));
      s.labels.push_back(c);
    }
  return s;
}

std::vector<std::vector<int64_t>> flattened(const std::vector<OneShotTask>& tasks) {
  std::vector<std::vector<int64_t>> out;
  for (const auto& t : tasks) {
    std::vector<int64_t> v;
    for (const auto& s : t.supports) v.insert(v.end(), s.begin(), s.end());
    v.insert(v.end(), t.queries.begin(), t.queries.end());
    out.push_back(v);
  }
  return out;
}

}  // namespace

TEST_CASE("one-shot runs: a synthetic runs folder reads back as one task per run") {
  const std::string root = testing::fresh_folder("runs");
  write_run(root, 1, {1, 2, 0});
  write_run(root, 2, {0, 0, 2});
  testing::write_text(root + "/README", "not a run");
  const OneShotSet set = load_oneshot_runs(root, kFormat, false);
  REQUIRE(set.tasks.size() == 2);
  CHECK(set.images.count == 12);
  for (int run = 1; run <= 2; ++run) {
    const OneShotTask& t = set.tasks[size_t(run - 1)];
    CHECK(t.name == (run == 1 ? "run01" : "run02"));
    REQUIRE(t.supports.size() == 3);
    REQUIRE(t.queries.size() == 3);
    for (int k = 0; k < 3; ++k) {
      REQUIRE(t.supports[size_t(k)].size() == 1);
      CHECK(int(set.images.image(t.supports[size_t(k)][0])[0]) == 10 * run + k + 1);  // classKK in order
      CHECK(int(set.images.image(t.queries[size_t(k)])[0]) == 100 + 10 * run + k + 1);
    }
  }
  CHECK(set.tasks[0].answers == std::vector<int32_t>{1, 2, 0});
  CHECK(set.tasks[1].answers == std::vector<int32_t>{0, 0, 2});
}

TEST_CASE("one-shot runs: errors name file:line") {
  const std::string root = testing::fresh_folder("runs_errors");
  const std::string labels = write_run(root, 1, {0, 1, 2});
  SUBCASE("a class_labels line naming an image that is not a training image") {
    testing::write_text(labels, "run01/test/item01.png run01/training/class01.png\n"
                                "run01/test/item02.png run01/training/class09.png\n");
    CHECK_THROWS_WITH_AS(load_oneshot_runs(root, kFormat, false),
                         doctest::Contains(std::string(labels + ":2: run01/training/class09.png is not one of the run's training images").c_str()),
                         Error);
  }
  SUBCASE("a missing query image") {
    testing::write_text(labels, "run01/test/item07.png run01/training/class01.png\n");
    CHECK_THROWS_WITH_AS(load_oneshot_runs(root, kFormat, false),
                         doctest::Contains(std::string(labels + ":1: names " + root + "/run01/test/item07.png, which does not exist").c_str()), Error);
  }
  SUBCASE("a line of one word") {
    testing::write_text(labels, "\nrun01/test/item01.png\n");
    CHECK_THROWS_WITH_AS(load_oneshot_runs(root, kFormat, false), doctest::Contains(std::string(labels + ":2: expected").c_str()), Error);
  }
  SUBCASE("no runs") {
    CHECK_THROWS_WITH_AS(load_oneshot_runs(root + "/run01/test", kFormat, false), doctest::Contains("holds no run folders"), Error);
    CHECK_THROWS_WITH_AS(load_oneshot_runs(root + "/none", kFormat, false), doctest::Contains(std::string(root + "/none: no such folder").c_str()), Error);
  }
}

TEST_CASE("one-shot tasks: counts, distinct classes, supports never queries, answers right") {
  const ImageSet set = labelled(6, 5);
  TaskSpec spec;
  spec.ways = 3, spec.shots = 2, spec.queries = 2, spec.count = 50, spec.seed = 4;
  const auto tasks = draw_tasks(set, spec);
  REQUIRE(tasks.size() == 50);
  std::set<int32_t> classes_seen;
  for (const auto& t : tasks) {
    REQUIRE(t.supports.size() == 3);
    REQUIRE(t.queries.size() == 6);
    REQUIRE(t.answers.size() == 6);
    std::set<int32_t> classes;
    std::set<int64_t> images;
    for (const auto& s : t.supports) {
      REQUIRE(s.size() == 2);
      classes.insert(set.labels[size_t(s[0])]);
      for (int64_t i : s) {
        CHECK(set.labels[size_t(i)] == set.labels[size_t(s[0])]);  // a class's supports are of that class
        images.insert(i);
      }
    }
    CHECK(classes.size() == 3);  // distinct classes
    for (size_t q = 0; q < t.queries.size(); ++q) {
      CHECK(images.count(t.queries[q]) == 0);  // never a support, never a query twice
      images.insert(t.queries[q]);
      CHECK(set.labels[size_t(t.queries[q])] == set.labels[size_t(t.supports[size_t(t.answers[q])][0])]);
    }
    CHECK(images.size() == 12);
    classes_seen.insert(classes.begin(), classes.end());
  }
  CHECK(classes_seen.size() == 6);  // every class gets drawn in 50 tasks

  // Seeded: the same seed gives the same tasks, another seed others.
  CHECK(flattened(draw_tasks(set, spec)) == flattened(tasks));
  spec.seed = 5;
  CHECK(flattened(draw_tasks(set, spec)) != flattened(tasks));
}

TEST_CASE("one-shot tasks: classes with too few images are skipped; too few classes is an error") {
  ImageSet set = labelled(4, 3);
  set.labels.back() = 9, set.labels[set.labels.size() - 2] = 9;  // class 3 keeps one image, class 9 has two
  TaskSpec spec;
  spec.ways = 3, spec.shots = 1, spec.queries = 2, spec.count = 20;
  for (const auto& t : draw_tasks(set, spec))
    for (const auto& s : t.supports) CHECK(set.labels[size_t(s[0])] < 3);
  spec.ways = 4;
  CHECK_THROWS_WITH_AS(draw_tasks(set, spec), doctest::Contains("need 4 classes of at least 3 images; the set has 3"), Error);
  spec.ways = 1;
  CHECK_THROWS_AS(draw_tasks(set, spec), Error);
}
