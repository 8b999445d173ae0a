#include "graph/yaml_checks.hpp"

#include <graphrun/error.hpp>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

namespace graphrun {
namespace {

std::string mib(uint64_t bytes) {  // "1049469 bytes (1.00 MB)": exact, since the figures may be close
  char buf[64];
  std::snprintf(buf, sizeof buf, "%llu bytes (%.2f MB)", static_cast<unsigned long long>(bytes), double(bytes) / (1 << 20));
  return buf;
}

std::string at(const std::string& file, const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  if (m.line < 0) return file;
  return file + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

// Aliases can make the tree a DAG or even a cycle (`&a [*a]` holds itself): a depth and a
// visit budget keep the walk finite. A graph nests about six levels deep. Without aliases a
// text holds at most about one value per byte (`[:,:,:]`); the budget allows twice that, so
// that aliases repeating aliases (nine levels of ten: 10^9 values in 400 bytes) are refused
// after a few thousand visits, not millions (a fixed budget of 4 million took 27 to 81 s
// in the fuzzer's sanitizer build).
struct Walk {
  const std::string& file;
  int64_t budget;

  void visit(const YAML::Node& n, int depth) {
    if (depth > 64) throw Error(at(file, n) + ": the YAML nests more than 64 levels deep (a recursive alias?)");
    if (--budget < 0)
      throw Error(file + ": the YAML holds too many values for the length of its text (aliases repeating aliases?)");
    if (n.IsSequence()) {
      for (const auto& item : n) visit(item, depth + 1);
      return;
    }
    if (!n.IsMap()) return;
    std::map<std::string, YAML::Node> seen;
    for (const auto& kv : n) {
      if (!kv.first.IsScalar()) throw Error(at(file, kv.first) + ": a map key must be a plain name, not a list or map");
      auto [it, fresh] = seen.emplace(kv.first.Scalar(), kv.first);
      if (!fresh)
        throw Error(at(file, kv.first) + ": duplicate key '" + kv.first.Scalar() + "' (first given at " + at(file, it->second) +
                    "); each key may appear once in a map");
      visit(kv.second, depth + 1);
    }
  }
};

}  // namespace

void check_graph_size(uint64_t bytes, const std::string& file) {
  if (bytes > kMaxGraphFileBytes)
    throw Error(file + ": the graph file is " + mib(bytes) + ", over the limit of " + mib(kMaxGraphFileBytes) +
                " (graph files are a few kilobytes; is this the right file?)");
}

std::string read_graph_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw Error(path + ": is a folder; expected a graph file (YAML)");
  if (fs::is_regular_file(path, ec)) check_graph_size(fs::file_size(path, ec), path);
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot open the graph file");
  // Read at most one byte past the limit: a pipe or device has no size to check first.
  std::string text(kMaxGraphFileBytes + 1, '\0');
  f.read(text.data(), std::streamsize(text.size()));
  if (f.bad()) throw Error(path + ": cannot read the graph file");
  text.resize(size_t(f.gcount()));
  if (text.size() > kMaxGraphFileBytes)
    throw Error(path + ": the graph file is over the limit of " + mib(kMaxGraphFileBytes) + " (is this the right file?)");
  return text;
}

void check_unique_keys(const YAML::Node& root, const std::string& file, uint64_t text_bytes) {
  Walk{file, int64_t(2 * std::min<uint64_t>(text_bytes, kMaxGraphFileBytes) + 1024)}.visit(root, 0);
}

}  // namespace graphrun
