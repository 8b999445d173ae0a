#pragma once
// Verification figures (ROC, AUC, EER, thresholds) of one split: its own pairs through a
// pair graph, or every pair of its images, through the graph or by embedding distance.
#include "data/pairs.hpp"
#include "eval/scoring.hpp"
#include "eval/verification.hpp"

#include <cstdint>
#include <vector>

namespace graphrun::eval {

// Above this many pairs, "every pair" becomes a seeded sample of that many.
constexpr int64_t kMaxVerificationPairs = 2'000'000;

// A pair counts as same when its two images have the same class label. all_pairs scores
// every pair (i < j) of the images instead of `pairs`. Scores come from the embedding
// distance when the scorer has an embedding, else from the graph's output.
Verification verify_split(Scorer& scorer, const data::ImageSet& images, const std::vector<data::Pair>& pairs, bool all_pairs,
                          uint64_t seed);

}  // namespace graphrun::eval
