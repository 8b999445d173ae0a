#include "data/pairs.hpp"

#include <graphrun/error.hpp>
#include <random>

#include "data/random.hpp"

namespace graphrun::data {
namespace {

// Image indices grouped by class; `present` lists the classes that have at least one image.
struct ClassIndex {
  std::vector<std::vector<uint32_t>> members;
  std::vector<int32_t> present;
  // Position of each class in `present`, so "another class" can be drawn in O(1).
  std::vector<int64_t> slot;
};

ClassIndex index_classes(const std::vector<int32_t>& labels) {
  ClassIndex idx;
  for (size_t i = 0; i < labels.size(); ++i) {
    const int32_t c = labels[i];
    if (c < 0) throw Error("pair sampling: image " + std::to_string(i) + " has negative label " + std::to_string(c));
    if (static_cast<size_t>(c) >= idx.members.size()) idx.members.resize(static_cast<size_t>(c) + 1);
    idx.members[c].push_back(static_cast<uint32_t>(i));
  }
  idx.slot.assign(idx.members.size(), -1);
  for (size_t c = 0; c < idx.members.size(); ++c)
    if (!idx.members[c].empty()) {
      idx.slot[c] = static_cast<int64_t>(idx.present.size());
      idx.present.push_back(static_cast<int32_t>(c));
    }
  return idx;
}

// A uniform member of class c other than `self`; the class must hold at least two images.
uint32_t partner_in_class(const ClassIndex& idx, int32_t c, uint32_t self, std::mt19937_64& rng) {
  const std::vector<uint32_t>& m = idx.members[c];
  for (;;) {
    const uint32_t p = m[uniform_below(rng, m.size())];
    if (p != self) return p;
  }
}

// A uniformly drawn present class other than c (needs two present classes).
int32_t other_class(const ClassIndex& idx, int32_t c, std::mt19937_64& rng) {
  const uint64_t k = idx.present.size();
  const uint64_t step = 1 + uniform_below(rng, k - 1);
  return idx.present[(static_cast<uint64_t>(idx.slot[c]) + step) % k];
}

void require_two_classes(const ClassIndex& idx, const std::string& strategy) {
  if (idx.present.size() < 2)
    throw Error("pair strategy " + strategy + " needs images of at least two classes, found " +
                std::to_string(idx.present.size()));
}

void require_same_partner(const ClassIndex& idx, int32_t c, const std::string& strategy) {
  if (idx.members[c].size() < 2)
    throw Error("pair strategy " + strategy + ": class " + std::to_string(c) +
                " has a single image, so it has no same-class partner (expected at least 2 images per class)");
}

}  // namespace

const std::vector<std::string>& pair_strategies() {
  static const std::vector<std::string> names = {"consecutive", "balanced", "class_weighted", "none"};
  return names;
}

std::vector<Pair> make_pairs(const std::vector<int32_t>& labels, const PairSpec& spec) {
  if (labels.size() > 0xffffffffu)
    throw Error("pair sampling: " + std::to_string(labels.size()) + " images exceed the 32-bit image index");
  const float same = spec.same_label, different = 1.0f - spec.same_label;
  const uint32_t n = static_cast<uint32_t>(labels.size());
  std::mt19937_64 rng(spec.seed);
  std::vector<Pair> pairs;

  if (spec.strategy == "consecutive") {
    pairs.reserve(n / 2);
    for (uint32_t k = 0; k + 1 < n; k += 2)
      pairs.push_back({k, k + 1, labels[k] == labels[k + 1] ? same : different});
  } else if (spec.strategy == "none") {
    pairs.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
      if (labels[i] < 0) throw Error("pair sampling: image " + std::to_string(i) + " has negative label");
      pairs.push_back({i, i, static_cast<float>(labels[i])});
    }
  } else if (spec.strategy == "balanced") {
    const ClassIndex idx = index_classes(labels);
    require_two_classes(idx, spec.strategy);
    for (int32_t c : idx.present) require_same_partner(idx, c, spec.strategy);
    pairs.reserve(size_t(n) * 2);
    for (uint32_t i = 0; i < n; ++i) {
      const int32_t c = labels[i];
      pairs.push_back({i, partner_in_class(idx, c, i, rng), same});
      const std::vector<uint32_t>& other = idx.members[other_class(idx, c, rng)];
      pairs.push_back({i, other[uniform_below(rng, other.size())], different});
    }
  } else if (spec.strategy == "class_weighted") {
    if (!(spec.same_weight >= 0) || !(spec.other_weight >= 0) || spec.same_weight + spec.other_weight <= 0)
      throw Error("pair strategy class_weighted: same_weight and other_weight must be >= 0 and not both 0 (got " +
                  std::to_string(spec.same_weight) + " and " + std::to_string(spec.other_weight) + ")");
    const ClassIndex idx = index_classes(labels);
    const double others = static_cast<double>(idx.present.size()) - 1;
    pairs.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
      const int32_t c = labels[i];
      // A class of one image has no same partner: its anchor always draws another class.
      const double own = idx.members[c].size() > 1 ? spec.same_weight : 0.0;
      const double total = own + spec.other_weight * others;
      if (total <= 0) require_same_partner(idx, c, spec.strategy);
      const bool pick_same = uniform_unit(rng) * total < own;
      if (pick_same) {
        pairs.push_back({i, partner_in_class(idx, c, i, rng), same});
      } else {
        // Every other class has the same weight, so the draw among them is uniform.
        const std::vector<uint32_t>& other = idx.members[other_class(idx, c, rng)];
        pairs.push_back({i, other[uniform_below(rng, other.size())], different});
      }
    }
  } else {
    std::string list;
    for (const std::string& s : pair_strategies()) list += (list.empty() ? "" : ", ") + s;
    throw Error("unknown pair strategy '" + spec.strategy + "'; expected one of: " + list);
  }
  return pairs;
}

}  // namespace graphrun::data
