#pragma once
// Class-per-folder image trees (ORL's sN/*.pgm, Omniglot's alphabet/character/*.png, any
// class/*.jpg), decoded once, in parallel, into an ImageSet of bytes.
#include "data/idx.hpp"
#include "data/image_decode.hpp"

#include <string>
#include <vector>

namespace graphrun::data {

// A class is named by its folder's path under its root ("s7", "Greek/character01"), so a
// class found under several roots is one class and a file found under several roots at the
// same relative path is one image. Classes and files are sorted by name.
struct ImageTree {
  std::vector<std::string> classes;
  std::vector<std::vector<std::string>> files;  // per class: full paths
  int64_t images() const;
};

// Scans each root: folders of images (one level) or folders of such folders (two levels),
// decided per root. Files directly under a root (a README) and hidden files are ignored.
// Throws Error naming the path for a missing root, a root with no class folders, an empty
// class folder, a non-image file inside a class folder, or a root that mixes both levels.
ImageTree scan_image_tree(const std::vector<std::string>& roots);

// Decodes files[i] with label labels[i] into one set, on every compute thread, with a
// progress line on stderr when it takes more than a second (`what` names the data in it)
// and one notice when images had to be resized or converted to the graph's format.
ImageSet decode_files(const std::vector<std::string>& files, const std::vector<int32_t>& labels,
                      std::vector<std::string> class_names, const ImageFormat& format, const std::string& what,
                      bool progress = true);

ImageSet decode_tree(const ImageTree& tree, const ImageFormat& format, const std::string& what, bool progress = true);

// The images at `indices` (in that order) as a new set. With relabel, the labels that occur
// are renumbered 0..k-1 in order of first occurrence and class_names follow them.
ImageSet select_images(const ImageSet& set, const std::vector<int64_t>& indices, bool relabel);

}  // namespace graphrun::data
