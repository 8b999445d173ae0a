#include "eval/split_verification.hpp"

#include "data/random.hpp"

#include <graphrun/error.hpp>

namespace graphrun::eval {

Verification verify_split(Scorer& scorer, const data::ImageSet& images, const std::vector<data::Pair>& pairs, bool all_pairs,
                          uint64_t seed) {
  std::vector<std::pair<int64_t, int64_t>> chosen;
  if (all_pairs) {
    const int64_t n = images.count, total = n * (n - 1) / 2;
    if (total <= kMaxVerificationPairs) {
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = i + 1; j < n; ++j) chosen.emplace_back(i, j);
    } else {
      std::mt19937_64 rng(seed);
      while (int64_t(chosen.size()) < kMaxVerificationPairs) {
        const int64_t i = int64_t(data::uniform_below(rng, uint64_t(n))), j = int64_t(data::uniform_below(rng, uint64_t(n)));
        if (i != j) chosen.emplace_back(i, j);
      }
    }
  } else {
    for (const auto& p : pairs)
      if (p.a != p.b) chosen.emplace_back(p.a, p.b);
  }
  if (chosen.empty()) throw Error("verification: the split has no pairs of two images");
  std::vector<uint8_t> same;
  for (const auto& [a, b] : chosen) same.push_back(images.labels[size_t(a)] == images.labels[size_t(b)]);

  std::vector<float> scores;
  bool higher_is_same = scorer.higher_is_same();
  if (scorer.has_embedding()) {
    std::vector<int64_t> all(size_t(images.count));
    for (int64_t i = 0; i < images.count; ++i) all[size_t(i)] = i;
    const std::vector<float> e = scorer.embeddings(images, all);
    const size_t d = size_t(scorer.dim());
    for (const auto& [a, b] : chosen) scores.push_back(float(scorer.embedding_distance(&e[size_t(a) * d], &e[size_t(b) * d])));
    higher_is_same = false;
  } else {
    scores = scorer.pair_scores(images, chosen);
  }
  return verify(scores, same, higher_is_same);
}

}  // namespace graphrun::eval
