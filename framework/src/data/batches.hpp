#pragma once
// Prefetching batch loader: a worker thread assembles the next batch of pairs while the
// caller trains on the current one.
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "data/augment.hpp"
#include "data/idx.hpp"
#include "data/pairs.hpp"

#include <functional>

namespace graphrun::data {

struct Batch {
  int64_t size = 0;
  std::vector<float> left, right;  // size * image_size floats each: images a and b of every pair
  std::vector<float> label;        // pair label per example
  std::vector<float> klass;        // class index of image a (for classifiers)
};

// Delivers every pair exactly once per epoch, in batches of batch_size (the last may be
// smaller). Three batch buffers are allocated once and recycled, so the steady state does no
// heap allocation. Call start_epoch() and next() from one thread. `images` must outlive the
// loader.
//
// Where the compute threads leave a core free, a worker thread assembles the next batches
// while a step runs (Filling::background). Where they take every core, that worker waited
// for a core behind threads spinning between oneDNN calls (15% of an R3 epoch at 2
// threads on 2 cores), so next() assembles the batch itself, split across the compute
// threads (Filling::in_next). Filling::automatic picks by that rule when constructed.
class BatchLoader {
 public:
  enum class Filling { automatic, background, in_next };
  BatchLoader(const ImageSet& images, std::vector<Pair> pairs, int64_t batch_size, bool shuffle, uint64_t seed,
              Filling filling = Filling::automatic);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // Draws each epoch's pairs anew (class-balanced batches) instead of shuffling fixed ones;
  // every epoch must have as many pairs as the constructor's. Before the first start_epoch.
  void set_epoch_pairs(std::function<std::vector<Pair>(int64_t epoch)> draw);
  // Warps every image of a batch at random (training only); the images of epoch e, batch b
  // depend on the seed, e and b alone. Before the first start_epoch.
  void set_augment(const AugmentSpec& spec, uint64_t seed);

  int64_t batches_per_epoch() const;
  int64_t num_pairs() const { return static_cast<int64_t>(pairs_.size()); }
  int64_t batch_size() const { return batch_size_; }
  bool background() const { return worker_.joinable(); }

  // Abandons any epoch in progress, orders the pairs for this epoch (a shuffle seeded by the
  // seed and the epoch number alone, so epoch e is the same whatever ran before) and starts
  // filling batches in the background. first_batch > 0 skips the batches before it without
  // assembling them (a run resumed inside an epoch); the ones after are unchanged.
  void start_epoch(int64_t epoch, int64_t first_batch = 0);

  // The next batch of the epoch, or nullptr after the last one. The batch stays valid until
  // the following call of next() or start_epoch().
  const Batch* next();

 private:
  static constexpr int64_t kBuffers = 3;  // one held by the caller, one ready, one being filled

  void work();
  void fill(Batch& batch, int64_t index) const;

  const ImageSet& images_;
  std::vector<Pair> pairs_;  // rewritten by draw_ only while the worker is idle
  std::function<std::vector<Pair>(int64_t)> draw_;
  AugmentSpec augment_;
  uint64_t augment_seed_ = 0;
  int64_t epoch_ = 0;
  const int64_t batch_size_;
  const bool shuffle_;
  const uint64_t seed_;

  std::vector<uint32_t> order_;  // pair indices of the epoch; written only while the worker is idle
  Batch buffers_[kBuffers];

  std::mutex mutex_;
  std::condition_variable work_cv_;   // wakes the worker
  std::condition_variable ready_cv_;  // wakes the caller
  bool stop_ = false;
  bool active_ = false;   // an epoch is running
  bool busy_ = false;     // the worker is filling a buffer outside the lock
  int64_t filled_ = 0;    // batches of this epoch completed by the worker
  int64_t released_ = 0;  // batches of this epoch the caller is done with
  int64_t handed_ = 0;    // batches of this epoch returned by next()
  std::exception_ptr error_;
  std::thread worker_;  // last: starts after everything above is constructed
};

}  // namespace graphrun::data
