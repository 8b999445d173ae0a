#include "data/pair_file.hpp"

#include "data/image_tree.hpp"

#include <graphrun/error.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace graphrun::data {
namespace {

std::vector<std::string> words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

int64_t positive(const std::string& word, const std::string& where, const std::string& what) {
  size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(word, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != word.size() || v <= 0 || v > 100000000)
    throw Error(where + ": " + what + " must be a positive whole number, got '" + word + "'");
  return v;
}

std::string image_path(const std::string& root, const std::string& name, int64_t index) {
  char file[64];
  std::snprintf(file, sizeof file, "_%04lld.jpg", static_cast<long long>(index));
  return (std::filesystem::path(root) / name / (name + file)).string();
}

}  // namespace

std::vector<PairListEntry> read_pair_file(const std::string& file, const std::string& image_root) {
  std::ifstream in(file);
  if (!in) throw Error(file + ": cannot open the pair file");
  std::string line;
  int number = 0;
  int64_t expected = -1;
  int count_line = 0;
  std::vector<PairListEntry> entries;
  while (std::getline(in, line)) {
    ++number;
    const std::string where = file + ":" + std::to_string(number);
    const auto w = words(line);
    if (w.empty()) continue;
    if (expected < 0) {
      if (w.size() == 1) expected = 2 * positive(w[0], where, "the pair count");
      else if (w.size() == 2) expected = 2 * positive(w[0], where, "the fold count") * positive(w[1], where, "the pairs per fold");
      else throw Error(where + ": the first line must be 'count' or 'folds count', got '" + line + "'");
      count_line = number;
      continue;
    }
    if (int64_t(entries.size()) == expected)
      throw Error(where + ": one pair more than the " + std::to_string(expected) + " pairs the count line (line " +
                  std::to_string(count_line) + ") promises");
    PairListEntry e;
    e.line = number;
    if (w.size() == 3) {
      e.a = image_path(image_root, w[0], positive(w[1], where, "an image number"));
      e.b = image_path(image_root, w[0], positive(w[2], where, "an image number"));
      e.same = true;
    } else if (w.size() == 4) {
      e.a = image_path(image_root, w[0], positive(w[1], where, "an image number"));
      e.b = image_path(image_root, w[2], positive(w[3], where, "an image number"));
      e.same = false;
    } else {
      throw Error(where + ": expected 'name i j' (a same pair) or 'name1 i name2 j' (a different pair), got '" + line + "'");
    }
    for (const auto* p : {&e.a, &e.b}) {
      std::error_code ec;
      if (!std::filesystem::is_regular_file(*p, ec)) throw Error(where + ": names " + *p + ", which does not exist");
    }
    entries.push_back(std::move(e));
  }
  if (expected < 0) throw Error(file + ": empty pair file (expected a count line, then the pairs)");
  if (int64_t(entries.size()) != expected)
    throw Error(file + ":" + std::to_string(count_line) + ": the count line promises " + std::to_string(expected) +
                " pairs but the file holds " + std::to_string(entries.size()));
  return entries;
}

PairData load_pair_file(const std::string& file, const std::string& image_root, const ImageFormat& format, float same_label,
                        bool progress) {
  const auto entries = read_pair_file(file, image_root);
  std::map<std::string, uint32_t> image_index;
  std::map<std::string, int32_t> person_index;
  std::vector<std::string> files, people;
  std::vector<int32_t> labels;
  auto add = [&](const std::string& path) {
    auto it = image_index.find(path);
    if (it != image_index.end()) return it->second;
    const std::string person = std::filesystem::path(path).parent_path().filename().string();
    auto p = person_index.emplace(person, int32_t(people.size()));
    if (p.second) people.push_back(person);
    files.push_back(path);
    labels.push_back(p.first->second);
    return image_index[path] = uint32_t(files.size() - 1);
  };
  PairData out;
  for (const auto& e : entries) {
    const uint32_t a = add(e.a), b = add(e.b);
    out.pairs.push_back(Pair{a, b, e.same ? same_label : 1 - same_label});
  }
  out.images = decode_files(files, labels, people, format, file, progress);
  return out;
}

}  // namespace graphrun::data
