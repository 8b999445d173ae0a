#include "graph/overrides.hpp"

#include <graphrun/error.hpp>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

namespace fs = std::filesystem;

namespace graphrun {
namespace {

YAML::Node load(const std::string& text, const std::string& file) {
  try {
    return YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw Error(file + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) + ": malformed YAML: " + e.msg);
  }
}

std::string dump(const YAML::Node& root) {
  YAML::Emitter out;
  out << root;
  return std::string(out.c_str()) + "\n";
}

std::vector<std::string> split_key(const std::string& key, const std::string& file) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t dot = key.find('.', start);
    parts.push_back(key.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (parts.back().empty()) throw Error(file + ": key '" + key + "' has an empty part (write it as a.b.c)");
    if (dot == std::string::npos) return parts;
    start = dot + 1;
  }
}

// What a missing part's message lists: the keys of a map, or the index range of a list.
std::string contents(const YAML::Node& n) {
  if (n.IsSequence()) return n.size() ? "a list of " + std::to_string(n.size()) + " items, 0.." + std::to_string(n.size() - 1) : "an empty list";
  std::string keys;
  for (const auto& kv : n) keys += (keys.empty() ? "" : ", ") + kv.first.Scalar();
  return "keys there: " + (keys.empty() ? std::string("none") : keys);
}

std::string where(const std::vector<std::string>& parts, size_t i) {
  if (i == 0) return "the top level";
  std::string s;
  for (size_t j = 0; j < i; ++j) s += (j ? "." : "") + parts[j];
  return "'" + s + "'";
}

bool is_index(const std::string& s) {
  return !s.empty() && s.size() < 10 && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

void set_key(YAML::Node& root, const Override& o, const std::string& file) {
  const std::vector<std::string> parts = split_key(o.key, file);
  const std::string prefix = file + ": key '" + o.key + "': ";
  YAML::Node cur = root;  // a handle: reset() moves it, assignment would overwrite the tree
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& part = parts[i];
    const bool last = i + 1 == parts.size();
    if (!cur.IsMap() && !cur.IsSequence())
      throw Error(prefix + where(parts, i) + " is a single value" + (cur.IsScalar() ? " (" + cur.Scalar() + ")" : "") +
                  ", not a map or list, so it has no '" + part + "'");
    const YAML::Node& lookup = cur;  // const: a lookup never adds the key
    if (cur.IsSequence() && !is_index(part))
      throw Error(prefix + where(parts, i) + " is a list: '" + part + "' must be an item index (" + contents(cur) + ")");
    if (cur.IsSequence() && std::stoul(part) >= cur.size())
      throw Error(prefix + "'" + part + "' not found in " + where(parts, i) + " (" + contents(cur) + ")");
    const YAML::Node child = cur.IsSequence() ? lookup[std::stoul(part)] : lookup[part];  // invalid when missing
    if (!child && !last) throw Error(prefix + "'" + part + "' not found in " + where(parts, i) + " (" + contents(cur) + ")");
    if (!last) {
      cur.reset(child);
      continue;
    }
    if (child && (child.IsMap() || child.IsSequence()))
      throw Error(prefix + "it names a " + std::string(child.IsMap() ? "map" : "list") +
                  "; a sweep sets single values (name a key inside it, e.g. " + o.key + "." +
                  (child.IsMap() ? (child.begin() != child.end() ? child.begin()->first.Scalar() : std::string("name")) : std::string("0")) +
                  ")");
    if (cur.IsSequence())
      cur[std::stoul(part)] = o.value;
    else
      cur[part] = o.value;
  }
}

std::string anchored(const std::string& path, const fs::path& graph_dir) {
  const fs::path p(path);
  if (p.empty() || p.is_absolute() || fs::exists(p)) return path;
  const fs::path beside = graph_dir / p;
  return fs::exists(beside) ? fs::absolute(beside).lexically_normal().string() : path;
}

// Every `weights: FILE` under towers and nodes: in a node, a tower's map or a tower layer.
void anchor_weights(YAML::Node n, const fs::path& graph_dir) {
  if (n.IsSequence()) {
    for (size_t i = 0; i < n.size(); ++i) anchor_weights(n[i], graph_dir);
  } else if (n.IsMap()) {
    for (auto kv : n) {
      YAML::Node value = kv.second;
      if (kv.first.Scalar() == "weights" && value.IsScalar())
        value = anchored(value.Scalar(), graph_dir);
      else
        anchor_weights(value, graph_dir);
    }
  }
}

}  // namespace

std::string apply_overrides(const std::string& text, const std::vector<Override>& overrides, const std::string& file) {
  YAML::Node root = load(text, file);
  if (!root.IsMap()) throw Error(file + ": a graph file is a YAML map");
  for (const Override& o : overrides) set_key(root, o, file);
  return dump(root);
}

std::string anchor_paths(const std::string& text, const std::string& graph_dir, const std::string& file) {
  YAML::Node root = load(text, file);
  if (!root.IsMap()) throw Error(file + ": a graph file is a YAML map");
  const fs::path dir = graph_dir.empty() ? fs::path(".") : fs::path(graph_dir);
  if (YAML::Node data = static_cast<const YAML::Node&>(root)["data"]; data && data.IsMap()) {
    if (YAML::Node path = static_cast<const YAML::Node&>(data)["path"]; path && path.IsScalar()) {
      path = anchored(path.Scalar(), dir);
    } else if (path && path.IsSequence()) {
      for (size_t i = 0; i < path.size(); ++i)
        if (path[i].IsScalar()) path[i] = anchored(path[i].Scalar(), dir);
    }
  }
  if (YAML::Node e = static_cast<const YAML::Node&>(root)["evaluation"]; e && e.IsMap())
    if (YAML::Node runs = static_cast<const YAML::Node&>(e)["oneshot_runs"]; runs && runs.IsScalar())
      runs = anchored(runs.Scalar(), dir);
  for (const char* section : {"towers", "nodes"})
    if (YAML::Node n = static_cast<const YAML::Node&>(root)[section]) anchor_weights(n, dir);
  return dump(root);
}

}  // namespace graphrun
