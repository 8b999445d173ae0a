#pragma once
// Edits of a graph file's YAML tree by dotted key path, for `graphrun sweep`: the graph
// stays the one source of every setting, and each sweep point is a written graph file.
#include <string>
#include <vector>

namespace graphrun {

struct Override {
  std::string key;    // dotted path: map keys by name, list items by index ("towers.encoder.1.rate")
  std::string value;  // written as a YAML scalar
};

// Sets each key to its value and returns the YAML text. Every part of a key must exist,
// except the last one may be new in a map that exists (train.optimizer.rho); a missing part
// is an Error naming the key, the part and the keys there. Only single values are replaced:
// a key naming a map or a list is an Error. `file` names the text in messages.
std::string apply_overrides(const std::string& text, const std::vector<Override>& overrides, const std::string& file);

// The written graph lives in another folder than the original, and the Session looks for
// relative paths in the working directory, then beside the graph file. So data.path (a
// value or a list), evaluation.oneshot_runs and every `weights:` under towers and nodes that is relative, not found
// from the working directory but found beside `graph_dir`, becomes that absolute path.
std::string anchor_paths(const std::string& text, const std::string& graph_dir, const std::string& file);

}  // namespace graphrun
