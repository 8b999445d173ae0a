#pragma once
// Pair sampling: which two images a Siamese network compares, and the target for each pair.
#include <cstdint>
#include <string>
#include <vector>

namespace graphrun::data {

// Two image indices and the training target for the pair (or the class, for strategy none).
struct Pair {
  uint32_t a, b;
  float label;
};

struct PairSpec {
  // consecutive | balanced | class_weighted | none
  std::string strategy = "balanced";
  // class_weighted: relative weight of the anchor's own class and of each other class.
  double same_weight = 0.9, other_weight = 0.1;
  // Target of a same-class pair; a different-class pair gets 1 - same_label (R4 uses 0: label 1 = different).
  float same_label = 1;
  uint64_t seed = 0;
};

// The strategies make_pairs knows, for messages and documentation.
const std::vector<std::string>& pair_strategies();

// Builds the pairs over images labelled `labels`:
// - consecutive (R1): (2k, 2k+1) for every k; an odd last image is left out.
// - balanced (R4): for each anchor in order, one partner of its class (never itself), then one
//   of a uniformly drawn other class.
// - class_weighted (R3): one partner per anchor, its class drawn with weight same_weight for the
//   anchor's class and other_weight for each other class, then a uniform image of that class
//   (never the anchor itself).
// - none: single images for plain classifiers (a = b = i, label = class index).
// Every random choice comes from std::mt19937_64(spec.seed): the same seed gives the same pairs.
std::vector<Pair> make_pairs(const std::vector<int32_t>& labels, const PairSpec& spec);

}  // namespace graphrun::data
