#include "data/class_sampler.hpp"

#include "data/random.hpp"

#include <graphrun/error.hpp>

#include <algorithm>
#include <map>

namespace graphrun::data {
namespace {

std::vector<std::vector<uint32_t>> eligible_classes(const std::vector<int32_t>& labels, int64_t per_class) {
  std::map<int32_t, std::vector<uint32_t>> by_class;
  for (size_t i = 0; i < labels.size(); ++i) by_class[labels[i]].push_back(uint32_t(i));
  std::vector<std::vector<uint32_t>> out;
  for (auto& [label, images] : by_class)
    if (int64_t(images.size()) >= per_class) out.push_back(std::move(images));
  return out;
}

}  // namespace

void check_class_batches(const std::vector<int32_t>& labels, const ClassBatches& spec, const std::string& what) {
  if (spec.classes < 2 || spec.per_class < 1)
    throw Error(what + ": class-balanced batches need classes >= 2 and images_per_class >= 1");
  const auto eligible = eligible_classes(labels, spec.per_class);
  if (int64_t(eligible.size()) < spec.classes)
    throw Error(what + ": batches of " + std::to_string(spec.classes) + " classes x " + std::to_string(spec.per_class) +
                " images need " + std::to_string(spec.classes) + " classes with at least " + std::to_string(spec.per_class) +
                " images; " + std::to_string(eligible.size()) + " have that many");
}

std::vector<Pair> class_balanced_epoch(const std::vector<int32_t>& labels, const ClassBatches& spec, uint64_t seed,
                                       int64_t epoch) {
  check_class_batches(labels, spec, "class-balanced batches");  // drawing from too few classes would index past them
  auto classes = eligible_classes(labels, spec.per_class);
  const int64_t batches = std::max<int64_t>(1, int64_t(labels.size()) / spec.batch_size());
  std::mt19937_64 rng(mix_seed(seed, uint64_t(epoch)));
  std::vector<size_t> order(classes.size());
  std::vector<Pair> out;
  out.reserve(size_t(batches * spec.batch_size()));
  for (int64_t b = 0; b < batches; ++b) {
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    for (int64_t c = 0; c < spec.classes; ++c) {
      std::swap(order[size_t(c)], order[size_t(c) + size_t(uniform_below(rng, order.size() - size_t(c)))]);
      auto& images = classes[order[size_t(c)]];
      for (int64_t k = 0; k < spec.per_class; ++k) {
        std::swap(images[size_t(k)], images[size_t(k) + size_t(uniform_below(rng, images.size() - size_t(k)))]);
        out.push_back(Pair{images[size_t(k)], images[size_t(k)], float(labels[images[size_t(k)]])});
      }
    }
  }
  return out;
}

}  // namespace graphrun::data
