#pragma once
// The examples of each split (train, validation, test) as a graph's `data` section states
// them: which images, decoded how, and which pairs or class-balanced batches over them.
#include "data/class_sampler.hpp"
#include "data/idx.hpp"
#include "data/image_decode.hpp"
#include "data/pairs.hpp"
#include "graph/model.hpp"

#include <map>
#include <string>
#include <vector>

namespace graphrun {

struct SplitData {
  data::ImageSet images;
  std::vector<data::Pair> pairs;  // class_balanced: the first epoch's batches, one after the other
  bool class_balanced = false;
  data::ClassBatches batches;
};

class DataSource {
 public:
  DataSource(const Model& model, uint64_t seed, bool progress);

  // Builds one split ("train", "validation" or "test"); every error names the graph file.
  SplitData split(const std::string& name);
  // The size and channels images are decoded to (formats images and pair_file).
  data::ImageFormat image_format() const;
  // A path as written in the graph: relative to the working directory, else to the graph file.
  std::string resolve(const std::string& path) const;

 private:
  const SplitSpec& spec_of(const std::string& name) const;
  data::ImageSet base_images(const std::string& name, const SplitSpec& s);
  std::vector<data::Pair> pairs_for(const data::ImageSet& images, const std::string& name) const;
  void check_inputs(const data::ImageSet& images) const;

  const Model& model_;
  const GraphSpec& spec_;
  uint64_t seed_;
  bool progress_;
  std::map<std::string, data::ImageSet> sets_;  // as read from disk: idx "train"/"test", the image tree "tree"
};

}  // namespace graphrun
