#include "data/batches.hpp"

#include <algorithm>
#include <cstring>
#include <graphrun/error.hpp>
#include <numeric>
#include <random>

#include "data/random.hpp"

#include <omp.h>
#include <thread>

namespace graphrun::data {

BatchLoader::BatchLoader(const ImageSet& images, std::vector<Pair> pairs, int64_t batch_size, bool shuffle,
                         uint64_t seed, Filling filling)
    : images_(images), pairs_(std::move(pairs)), batch_size_(batch_size), shuffle_(shuffle), seed_(seed) {
  if (batch_size < 1) throw Error("batch size must be at least 1, got " + std::to_string(batch_size));
  if (static_cast<int64_t>(images.pixels.size()) != images.count * images.image_size() ||
      static_cast<int64_t>(images.labels.size()) != images.count)
    throw Error("batch loader: the image set is inconsistent (" + std::to_string(images.count) + " images, " +
                std::to_string(images.pixels.size()) + " pixels, " + std::to_string(images.labels.size()) +
                " labels)");
  for (size_t i = 0; i < pairs_.size(); ++i)
    if (pairs_[i].a >= images.count || pairs_[i].b >= images.count)
      throw Error("batch loader: pair " + std::to_string(i) + " (" + std::to_string(pairs_[i].a) + ", " +
                  std::to_string(pairs_[i].b) + ") refers past the " + std::to_string(images.count) + " images");
  if (pairs_.size() > 0xffffffffu) throw Error("batch loader: too many pairs for a 32-bit index");
  order_.resize(pairs_.size());
  // No batch holds more than every pair: a batch_size far beyond them reserves only those.
  const size_t rows = static_cast<size_t>(std::min<int64_t>(batch_size, static_cast<int64_t>(pairs_.size())));
  const size_t floats = rows * static_cast<size_t>(images.image_size());
  for (Batch& b : buffers_) {
    b.left.reserve(floats);
    b.right.reserve(floats);
    b.label.reserve(rows);
    b.klass.reserve(rows);
  }
  if (filling == Filling::automatic)
    filling = unsigned(omp_get_max_threads()) < std::thread::hardware_concurrency() ? Filling::background
                                                                                     : Filling::in_next;
  if (filling == Filling::background) worker_ = std::thread([this] { work(); });
}

BatchLoader::~BatchLoader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  work_cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void BatchLoader::set_epoch_pairs(std::function<std::vector<Pair>(int64_t)> draw) { draw_ = std::move(draw); }

void BatchLoader::set_augment(const AugmentSpec& spec, uint64_t seed) {
  augment_ = spec;
  augment_seed_ = seed;
}

int64_t BatchLoader::batches_per_epoch() const {
  return (static_cast<int64_t>(pairs_.size()) + batch_size_ - 1) / batch_size_;
}

void BatchLoader::start_epoch(int64_t epoch, int64_t first_batch) {
  if (first_batch < 0 || first_batch > batches_per_epoch())
    throw Error("batch loader: cannot start epoch " + std::to_string(epoch) + " at batch " + std::to_string(first_batch) +
                " of " + std::to_string(batches_per_epoch()));
  std::unique_lock<std::mutex> lock(mutex_);
  active_ = false;  // the worker takes no new batch from here on
  ready_cv_.wait(lock, [this] { return !busy_; });
  epoch_ = epoch;
  if (draw_) {
    std::vector<Pair> drawn = draw_(epoch);
    if (drawn.size() != pairs_.size())
      throw Error("batch loader: epoch " + std::to_string(epoch) + " drew " + std::to_string(drawn.size()) + " examples, not " +
                  std::to_string(pairs_.size()));
    for (const Pair& p : drawn)
      if (p.a >= images_.count || p.b >= images_.count) throw Error("batch loader: a drawn example refers past the images");
    pairs_ = std::move(drawn);
  }
  std::iota(order_.begin(), order_.end(), 0u);
  if (shuffle_ && !draw_) {
    std::mt19937_64 rng(mix_seed(seed_, static_cast<uint64_t>(epoch)));
    shuffle_in_place(order_, rng);
  }
  filled_ = released_ = handed_ = first_batch;
  error_ = nullptr;
  active_ = true;
  lock.unlock();
  work_cv_.notify_all();
}

const Batch* BatchLoader::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!active_) throw Error("batch loader: next() called before start_epoch()");
  // The batch handed out last time is no longer in use: its buffer may be refilled.
  released_ = handed_;
  work_cv_.notify_all();
  if (handed_ >= batches_per_epoch()) return nullptr;
  if (!worker_.joinable()) {
    fill(buffers_[handed_ % kBuffers], handed_);
    return &buffers_[handed_++ % kBuffers];
  }
  ready_cv_.wait(lock, [this] { return filled_ > handed_ || error_; });
  if (error_) std::rethrow_exception(error_);
  return &buffers_[handed_++ % kBuffers];
}

void BatchLoader::work() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    work_cv_.wait(lock, [this] {
      return stop_ || (active_ && !error_ && filled_ < batches_per_epoch() && filled_ < released_ + kBuffers);
    });
    if (stop_) return;
    const int64_t index = filled_;
    busy_ = true;
    lock.unlock();
    std::exception_ptr failure;
    try {
      fill(buffers_[index % kBuffers], index);
    } catch (...) {
      failure = std::current_exception();
    }
    lock.lock();
    busy_ = false;
    if (failure) error_ = failure;
    else ++filled_;
    ready_cv_.notify_all();
  }
}

// Copies the images and labels of batch `index` of the epoch into `batch`. Resizing within
// the reserved capacity never reallocates.
void BatchLoader::fill(Batch& batch, int64_t index) const {
  constexpr int64_t kAhead = 4;  // pairs: how far ahead images are prefetched
  const int64_t begin = index * batch_size_;
  const int64_t size = std::min<int64_t>(batch_size_, static_cast<int64_t>(pairs_.size()) - begin);
  const int64_t image = images_.image_size();
  batch.size = size;
  batch.left.resize(static_cast<size_t>(size * image));
  batch.right.resize(static_cast<size_t>(size * image));
  batch.label.resize(static_cast<size_t>(size));
  batch.klass.resize(static_cast<size_t>(size));
  // On the compute threads when there is no worker (a worker is one thread already).
#pragma omp parallel for schedule(static) if (!worker_.joinable() && size * image >= (1 << 14))
  for (int64_t k = 0; k < size; ++k) {
    if (k + kAhead < size) {
      const Pair& ahead = pairs_[order_[begin + k + kAhead]];
      images_.prefetch(ahead.a);
      images_.prefetch(ahead.b);
    }
    const Pair& p = pairs_[order_[begin + k]];
    if (augment_.enabled()) {
      std::mt19937_64 rng(mix_seed(mix_seed(augment_seed_, uint64_t(epoch_)), uint64_t(begin + k)));
      augment_image(images_.image(p.a), images_.channels, images_.rows, images_.cols, augment_, rng, batch.left.data() + k * image);
      if (p.b == p.a)  // a class-balanced batch: the second image is never read
        std::memcpy(batch.right.data() + k * image, batch.left.data() + k * image, size_t(image) * sizeof(float));
      else
        augment_image(images_.image(p.b), images_.channels, images_.rows, images_.cols, augment_, rng, batch.right.data() + k * image);
    } else {
      images_.copy_image(p.a, batch.left.data() + k * image);
      images_.copy_image(p.b, batch.right.data() + k * image);
    }
    batch.label[k] = p.label;
    batch.klass[k] = static_cast<float>(images_.labels[p.a]);
  }
}

}  // namespace graphrun::data
