#pragma once
// LFW's pair lists (pairsDevTrain.txt, pairsDevTest.txt, the 10-fold pairs.txt): which two
// images form a pair and whether they show the same person.
#include "data/idx.hpp"
#include "data/image_decode.hpp"
#include "data/pairs.hpp"

#include <string>
#include <vector>

namespace graphrun::data {

struct PairListEntry {
  std::string a, b;  // image paths
  bool same;
  int line;          // 1-based line in the pair file
};

// Parses a pair file. The first line is `count` (count same pairs, then count different
// ones) or `folds count` (folds x (count same + count different)). A same pair is
// `name i j`, a different pair `name1 i name2 j`; images are root/name/name_%04d.jpg. Every
// error names file:line: a malformed count line, a line of the wrong shape, a non-numeric
// or non-positive index, a named image that does not exist, more or fewer pairs than the
// count line promises.
std::vector<PairListEntry> read_pair_file(const std::string& file, const std::string& image_root);

// The images the entries name, decoded once each (labels: one class per person, named
// after the folder), and the pairs over them with the target same_label for a same pair and
// 1 - same_label for a different one.
struct PairData {
  ImageSet images;
  std::vector<Pair> pairs;
};
PairData load_pair_file(const std::string& file, const std::string& image_root, const ImageFormat& format, float same_label,
                        bool progress = true);

}  // namespace graphrun::data
