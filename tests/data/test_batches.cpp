// The prefetching batch loader: coverage of each epoch, batch sizes, determinism, restarts
// and shutdown mid-epoch.
#include <doctest/doctest.h>

#include <graphrun/error.hpp>
#include <set>

#include "data/batches.hpp"

using namespace graphrun;
using namespace graphrun::data;

namespace {

// `count` (at most 256) images of 1x1x2 whose pixel bytes encode their index: (i, 255 - i);
// label i % 10.
ImageSet numbered_images(int64_t count) {
  ImageSet s;
  s.count = count;
  s.rows = 1;
  s.cols = 2;
  for (int64_t i = 0; i < count; ++i) {
    s.pixels.push_back(uint8_t(i));
    s.pixels.push_back(uint8_t(255 - i));
    s.labels.push_back(int32_t(i % 10));
  }
  return s;
}

float first_pixel(uint32_t i) { return float(i) * ImageSet::kByteScale; }
float second_pixel(uint32_t i) { return float(255 - i) * ImageSet::kByteScale; }

// Pair k joins image k with image (7k + 3) mod count; its label is k, so a batch names its pairs.
std::vector<Pair> numbered_pairs(const ImageSet& s, int64_t n) {
  std::vector<Pair> p;
  for (int64_t k = 0; k < n; ++k)
    p.push_back({uint32_t(k % s.count), uint32_t((7 * k + 3) % s.count), float(k)});
  return p;
}

// The pair labels of one epoch in delivery order, checking every batch against its pairs.
std::vector<float> run_epoch(BatchLoader& loader, const std::vector<Pair>& pairs, const ImageSet& images,
                             int64_t epoch, std::vector<int64_t>* sizes = nullptr) {
  loader.start_epoch(epoch);
  std::vector<float> seen;
  while (const Batch* b = loader.next()) {
    if (sizes) sizes->push_back(b->size);
    REQUIRE(b->left.size() == size_t(b->size * 2));
    REQUIRE(b->right.size() == size_t(b->size * 2));
    REQUIRE(b->label.size() == size_t(b->size));
    REQUIRE(b->klass.size() == size_t(b->size));
    for (int64_t k = 0; k < b->size; ++k) {
      const Pair& p = pairs[size_t(b->label[k])];
      CHECK(b->left[2 * k] == first_pixel(p.a));
      CHECK(b->left[2 * k + 1] == second_pixel(p.a));
      CHECK(b->right[2 * k] == first_pixel(p.b));
      CHECK(b->right[2 * k + 1] == second_pixel(p.b));
      CHECK(b->klass[k] == float(images.labels[p.a]));
      seen.push_back(b->label[k]);
    }
  }
  CHECK(loader.next() == nullptr);  // stays at the end
  return seen;
}

}  // namespace

TEST_CASE("batches: every pair exactly once per epoch; last batch smaller") {
  BatchLoader::Filling filling = BatchLoader::Filling::background;
  SUBCASE("a worker thread fills the batches") {}
  SUBCASE("next() fills each batch itself") { filling = BatchLoader::Filling::in_next; }
  const ImageSet images = numbered_images(50);
  const std::vector<Pair> pairs = numbered_pairs(images, 103);
  BatchLoader loader(images, pairs, 10, true, 42, filling);
  CHECK(loader.batches_per_epoch() == 11);
  std::vector<std::vector<float>> epochs;
  for (int64_t e = 0; e < 3; ++e) {
    std::vector<int64_t> sizes;
    std::vector<float> seen = run_epoch(loader, pairs, images, e, &sizes);
    REQUIRE(sizes.size() == 11);
    for (size_t i = 0; i + 1 < sizes.size(); ++i) CHECK(sizes[i] == 10);
    CHECK(sizes.back() == 3);
    epochs.push_back(seen);
    std::multiset<float> unique(seen.begin(), seen.end());
    REQUIRE(seen.size() == 103);
    for (int k = 0; k < 103; ++k) CHECK(unique.count(float(k)) == 1);
  }
  CHECK(epochs[0] != epochs[1]);  // reshuffled each epoch
  CHECK(epochs[1] != epochs[2]);
}

TEST_CASE("batches: without shuffle pairs come in order; exact multiple of the batch size") {
  BatchLoader::Filling filling = BatchLoader::Filling::background;
  SUBCASE("a worker thread fills the batches") {}
  SUBCASE("next() fills each batch itself") { filling = BatchLoader::Filling::in_next; }
  const ImageSet images = numbered_images(20);
  const std::vector<Pair> pairs = numbered_pairs(images, 40);
  BatchLoader loader(images, pairs, 8, false, 1, filling);
  CHECK(loader.batches_per_epoch() == 5);
  std::vector<int64_t> sizes;
  const std::vector<float> seen = run_epoch(loader, pairs, images, 4, &sizes);
  CHECK(sizes == std::vector<int64_t>(5, 8));
  for (size_t k = 0; k < seen.size(); ++k) CHECK(seen[k] == float(k));
}

TEST_CASE("batches: same seed gives the same batches; another seed differs; epochs independent") {
  BatchLoader::Filling filling = BatchLoader::Filling::background;
  SUBCASE("a worker thread fills the batches") {}
  SUBCASE("next() fills each batch itself") { filling = BatchLoader::Filling::in_next; }
  const ImageSet images = numbered_images(30);
  const std::vector<Pair> pairs = numbered_pairs(images, 64);
  BatchLoader a(images, pairs, 5, true, 9, filling), b(images, pairs, 5, true, 9, filling), c(images, pairs, 5, true, 10, filling);
  const std::vector<float> a0 = run_epoch(a, pairs, images, 0), a1 = run_epoch(a, pairs, images, 1);
  // b runs epoch 1 first: an epoch's order depends only on the seed and its number.
  CHECK(run_epoch(b, pairs, images, 1) == a1);
  CHECK(run_epoch(b, pairs, images, 0) == a0);
  CHECK(run_epoch(c, pairs, images, 0) != a0);
}

TEST_CASE("batches: buffers are allocated once and recycled") {
  BatchLoader::Filling filling = BatchLoader::Filling::background;
  SUBCASE("a worker thread fills the batches") {}
  SUBCASE("next() fills each batch itself") { filling = BatchLoader::Filling::in_next; }
  const ImageSet images = numbered_images(30);
  const std::vector<Pair> pairs = numbered_pairs(images, 95);
  BatchLoader loader(images, pairs, 4, true, 3, filling);
  std::set<const float*> buffers;
  for (int64_t e = 0; e < 3; ++e) {
    loader.start_epoch(e);
    while (const Batch* b = loader.next()) buffers.insert(b->left.data());
  }
  CHECK(buffers.size() <= 3);
}

TEST_CASE("batches: restart and destruction mid-epoch") {
  BatchLoader::Filling filling = BatchLoader::Filling::background;
  SUBCASE("a worker thread fills the batches") {}
  SUBCASE("next() fills each batch itself") { filling = BatchLoader::Filling::in_next; }
  const ImageSet images = numbered_images(40);
  const std::vector<Pair> pairs = numbered_pairs(images, 200);
  {
    BatchLoader loader(images, pairs, 7, true, 5, filling);
    loader.start_epoch(0);
    REQUIRE(loader.next() != nullptr);
    REQUIRE(loader.next() != nullptr);
    // Restarting abandons the rest of the epoch and delivers the whole new one.
    std::vector<float> seen = run_epoch(loader, pairs, images, 0);
    CHECK(seen.size() == 200);
    CHECK(std::set<float>(seen.begin(), seen.end()).size() == 200);
    loader.start_epoch(1);
    REQUIRE(loader.next() != nullptr);
  }  // destroyed holding a batch, worker still filling
  { BatchLoader idle(images, pairs, 7, true, 5, filling); }  // never started
  {
    BatchLoader started(images, pairs, 7, true, 5, filling);
    started.start_epoch(0);
  }  // started, nothing taken
  for (int i = 0; i < 20; ++i) {
    BatchLoader loader(images, pairs, 1, true, uint64_t(i), filling);
    loader.start_epoch(0);
    for (int k = 0; k < i; ++k) REQUIRE(loader.next() != nullptr);
  }
}

TEST_CASE("batches: bad use is refused") {
  BatchLoader::Filling filling = BatchLoader::Filling::background;
  SUBCASE("a worker thread fills the batches") {}
  SUBCASE("next() fills each batch itself") { filling = BatchLoader::Filling::in_next; }
  const ImageSet images = numbered_images(10);
  const std::vector<Pair> pairs = numbered_pairs(images, 10);
  CHECK_THROWS_WITH_AS(BatchLoader(images, pairs, 0, true, 1, filling), "batch size must be at least 1, got 0", Error);
  CHECK_THROWS_WITH_AS(BatchLoader(images, {{0, 10, 1.0f}}, 2, true, 1), doctest::Contains("refers past the 10 images"),
                       Error);
  BatchLoader loader(images, pairs, 3, true, 1, filling);
  CHECK_THROWS_WITH_AS(loader.next(), doctest::Contains("before start_epoch"), Error);
  BatchLoader empty(images, {}, 3, true, 1);
  CHECK(empty.batches_per_epoch() == 0);
  empty.start_epoch(0);
  CHECK(empty.next() == nullptr);
}

TEST_CASE("batches: a worker thread and next() itself deliver the same batches") {
  const ImageSet images = numbered_images(50);
  // Batches of 9,000 two-pixel pairs: large enough for next() to split each across threads.
  const std::vector<Pair> pairs = numbered_pairs(images, 20000);
  BatchLoader worker(images, pairs, 9000, true, 7, BatchLoader::Filling::background);
  BatchLoader itself(images, pairs, 9000, true, 7, BatchLoader::Filling::in_next);
  CHECK(worker.background());
  CHECK_FALSE(itself.background());
  for (int64_t e = 0; e < 2; ++e) CHECK(run_epoch(worker, pairs, images, e) == run_epoch(itself, pairs, images, e));
}
