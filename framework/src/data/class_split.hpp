#pragma once
// Splits of a labelled image set by class (train on some classes, test on others) and by
// image index inside each class; 90-degree rotations as new classes.
#include "data/idx.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace graphrun::data {

struct ClassSelection {
  std::vector<std::string> names;  // these classes by name; otherwise the range below
  int64_t begin = 0, end = -1;     // [begin, end) of the sorted (or shuffled) class list; -1: to the end
  double from = 0, to = 1;         // fraction of that range, applied after it
  bool shuffle = false;            // shuffle the class list with the seed before taking the range
  int64_t image_begin = 0, image_end = -1;  // [begin, end) of each class's images, in file order
};

// The selected classes' selected images, labels renumbered 0..k-1 in the order the classes
// were chosen. Throws Error (prefixed by `what`) for an unknown class name (with the nearest
// one), a range past the class count, or a selection that leaves no image.
ImageSet select_classes(const ImageSet& set, const ClassSelection& selection, uint64_t seed, const std::string& what);

// Every class once per angle in `degrees` (each of 0, 90, 180, 270), rotated: a rotated
// character is a new character (the usual Omniglot practice), so class c at the k-th angle
// becomes class c * degrees.size() + k, named "name@angle".
ImageSet with_rotated_classes(const ImageSet& set, const std::vector<int>& degrees);

}  // namespace graphrun::data
