#pragma once
// Checks on a graph file before and right after yaml-cpp reads it: its size (a large list
// took gigabytes of parser memory) and duplicate keys (yaml-cpp keeps both entries of a
// map and lookups silently take the first one).
#include <cstdint>
#include <string>

namespace YAML {
class Node;
}

namespace graphrun {

// Graph files are a few kilobytes; a 4 MB list already took 8 s and 1 GB to parse.
constexpr uint64_t kMaxGraphFileBytes = 1 << 20;

// The file's text; throws Error for a folder, an unreadable file or one over the limit.
std::string read_graph_file(const std::string& path);
// Throws Error for a text over the limit (parse_graph_spec's own input).
void check_graph_size(uint64_t bytes, const std::string& file);
// Throws Error naming file:line:col of both entries of the first duplicate key in any map
// (and of keys that are not plain names, nesting too deep to be a graph, or aliases that
// make the tree far larger than its text of text_bytes).
void check_unique_keys(const YAML::Node& root, const std::string& file, uint64_t text_bytes);

}  // namespace graphrun
