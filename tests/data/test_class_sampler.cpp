// Class-balanced P x K batches: every batch holds exactly P classes with K distinct images
// each, seeded by seed and epoch; too few classes is an error.
#include <doctest/doctest.h>

#include <graphrun/error.hpp>

#include "data/batches.hpp"
#include "data/class_sampler.hpp"

#include <set>

using namespace graphrun;
using namespace graphrun::data;

namespace {

// Classes 0..4 with 4, 5, 6, 7, 8 images, then class 5 with a single image.
std::vector<int32_t> uneven_labels() {
  std::vector<int32_t> labels;
  for (int c = 0; c < 5; ++c)
    for (int k = 0; k < 4 + c; ++k) labels.push_back(c);
  labels.push_back(5);
  return labels;
}

std::vector<uint32_t> images_of(const std::vector<Pair>& pairs) {
  std::vector<uint32_t> v;
  for (const Pair& p : pairs) v.push_back(p.a);
  return v;
}

}  // namespace

TEST_CASE("class sampler: every batch is P classes x K distinct images, a class's images consecutive") {
  const auto labels = uneven_labels();  // 31 images
  const ClassBatches spec{3, 2};
  const auto pairs = class_balanced_epoch(labels, spec, 7, 0);
  REQUIRE(pairs.size() == 30);  // floor(31 / 6) = 5 batches
  std::set<int32_t> classes_seen;
  for (size_t b = 0; b < 5; ++b) {
    std::set<int32_t> classes;
    for (size_t c = 0; c < 3; ++c) {
      const Pair& first = pairs[b * 6 + c * 2];
      const Pair& second = pairs[b * 6 + c * 2 + 1];
      CHECK(first.a == first.b);
      CHECK(second.a == second.b);
      CHECK(labels[first.a] == labels[second.a]);  // K images of one class, one after the other
      CHECK(first.a != second.a);                   // distinct images
      CHECK(first.label == float(labels[first.a]));
      CHECK(labels[first.a] != 5);  // a class of one image cannot give K = 2
      classes.insert(labels[first.a]);
    }
    CHECK(classes.size() == 3);  // P distinct classes
    classes_seen.insert(classes.begin(), classes.end());
  }
  CHECK(classes_seen.size() >= 4);
}

TEST_CASE("class sampler: seeded by seed and epoch") {
  const auto labels = uneven_labels();
  const ClassBatches spec{2, 3};
  const auto e0 = images_of(class_balanced_epoch(labels, spec, 1, 0));
  CHECK(images_of(class_balanced_epoch(labels, spec, 1, 0)) == e0);
  CHECK(images_of(class_balanced_epoch(labels, spec, 1, 1)) != e0);
  CHECK(images_of(class_balanced_epoch(labels, spec, 2, 0)) != e0);
}

TEST_CASE("class sampler: a set smaller than one batch still gives one batch") {
  const std::vector<int32_t> labels = {0, 0, 1, 1, 2, 2};
  const auto pairs = class_balanced_epoch(labels, ClassBatches{3, 2}, 0, 0);
  CHECK(pairs.size() == 6);
  CHECK(class_balanced_epoch(labels, ClassBatches{2, 2}, 0, 0).size() == 4);  // floor(6 / 4) = 1
}

TEST_CASE("class sampler: too few classes with K images is an error, from the check and from drawing") {
  const auto labels = uneven_labels();
  CHECK_NOTHROW(check_class_batches(labels, ClassBatches{5, 4}, "test"));
  CHECK_THROWS_WITH_AS(check_class_batches(labels, ClassBatches{4, 6}, "g.yaml: data.train"),
                       doctest::Contains("g.yaml: data.train: batches of 4 classes x 6 images need 4 classes with at least 6 "
                                         "images; 3 have that many"),
                       Error);
  CHECK_THROWS_AS(check_class_batches(labels, ClassBatches{1, 4}, "test"), Error);
  CHECK_THROWS_AS(class_balanced_epoch(labels, ClassBatches{6, 2}, 0, 0), Error);
}

TEST_CASE("class sampler: through the batch loader, each epoch's batches are drawn anew") {
  ImageSet set;
  set.rows = set.cols = 1;
  set.labels = uneven_labels();
  set.count = int64_t(set.labels.size());
  for (int64_t i = 0; i < set.count; ++i) set.pixels.push_back(uint8_t(i));
  const ClassBatches spec{3, 2};
  BatchLoader loader(set, class_balanced_epoch(set.labels, spec, 5, 0), spec.batch_size(), false, 0, BatchLoader::Filling::in_next);
  loader.set_epoch_pairs([&](int64_t epoch) { return class_balanced_epoch(set.labels, spec, 5, epoch); });
  for (int64_t epoch = 0; epoch < 2; ++epoch) {
    const auto expected = images_of(class_balanced_epoch(set.labels, spec, 5, epoch));
    loader.start_epoch(epoch);
    std::vector<uint32_t> seen;
    while (const Batch* b = loader.next()) {
      CHECK(b->size == 6);
      for (int64_t k = 0; k < b->size; ++k) {
        seen.push_back(uint32_t(std::lround(b->left[size_t(k)] * 255)));
        CHECK(b->right[size_t(k)] == b->left[size_t(k)]);
        CHECK(b->klass[size_t(k)] == float(set.labels[seen.back()]));
      }
    }
    CHECK(seen == expected);
  }
}
