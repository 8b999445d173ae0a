#pragma once
// Reading one graph file with yaml-cpp: positions (1-based file:line:col) and checked values.
#include <graphrun/error.hpp>

#include <yaml-cpp/yaml.h>

#include <set>
#include <string>
#include <vector>

namespace graphrun {

// Positions and messages for one file. yaml-cpp marks are 0-based; we print 1-based.
struct Ctx {
  std::string file;
  std::string at(const YAML::Node& n) const {
    const YAML::Mark m = n.Mark();
    if (m.line < 0) return file;
    return file + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
  }
  [[noreturn]] void fail(const YAML::Node& n, const std::string& what) const { throw Error(at(n) + ": " + what); }

  std::string scalar(const YAML::Node& parent, const std::string& key, const std::string& what) const {
    const YAML::Node v = parent[key];
    if (!v) fail(parent, what + ": missing '" + key + "'");
    if (!v.IsScalar()) fail(v, what + ": '" + key + "' must be a single value");
    return v.Scalar();
  }
  template <typename T>
  T value(const YAML::Node& parent, const std::string& key, T fallback, const std::string& what) const {
    const YAML::Node v = parent[key];
    if (!v) return fallback;
    try {
      return v.as<T>();
    } catch (const YAML::Exception&) {
      fail(v, what + ": '" + key + "' has the wrong type (got '" + (v.IsScalar() ? v.Scalar() : "a list or map") + "')");
    }
  }
  void only_keys(const YAML::Node& map, const std::set<std::string>& allowed, const std::string& what) const {
    if (!map.IsMap()) fail(map, what + " must be a map");
    for (const auto& kv : map) {
      const std::string k = kv.first.Scalar();
      if (!allowed.count(k)) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        fail(kv.first, what + ": unknown key '" + k + "' (expected one of: " + list + ")");
      }
    }
  }
};


}  // namespace graphrun
