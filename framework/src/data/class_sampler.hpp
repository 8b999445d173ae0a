#pragma once
// Class-balanced batches (pytorch-metric-learning's MPerClassSampler, dlib's metric-learning
// batches): every batch holds `classes` classes with `per_class` images each, for losses that
// compare every pair inside a batch.
#include "data/pairs.hpp"

#include <cstdint>
#include <vector>

namespace graphrun::data {

struct ClassBatches {
  int64_t classes = 0, per_class = 0;
  int64_t batch_size() const { return classes * per_class; }
};

// Checks the set can fill such batches: at least `classes` classes hold `per_class` images.
// Throws Error saying how many do.
void check_class_batches(const std::vector<int32_t>& labels, const ClassBatches& spec, const std::string& what);

// One epoch of such batches, one after the other, as Pairs with a = b = the image and
// label = its class: floor(images / batch size) batches (at least one). Each batch draws its
// classes uniformly among those with enough images, and distinct images of each class;
// a class's images are consecutive within the batch. The same seed and epoch give the same
// batches.
std::vector<Pair> class_balanced_epoch(const std::vector<int32_t>& labels, const ClassBatches& spec, uint64_t seed,
                                       int64_t epoch);

}  // namespace graphrun::data
