#pragma once
// The benchmark's data: the images and pairs of one split, resolved as graphrun train
// resolves them, and written out so that the PyTorch peer reads the very same ones.
#include "data/pairs.hpp"
#include "train/session.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace graphrun::bench {

struct SplitData {
  std::string split;
  int64_t begin = 0, end = 0;
  data::ImageSet images;
  std::vector<data::Pair> pairs;
};

// range_override "BEGIN:END" trains on those images of an IDX split instead.
SplitData load_split(Session& s, const std::string& name, const std::string& range_override);
void write_pairs(const std::string& path, const std::vector<data::Pair>& pairs);
nlohmann::json split_info(const SplitData& d);
void write_images(const std::string& dir, const std::string& name, const SplitData& d, const Session& s,
                  nlohmann::json& info);

}  // namespace graphrun::bench
