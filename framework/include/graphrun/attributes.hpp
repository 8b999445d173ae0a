#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace graphrun {

// The attributes of one node as written in the graph file (`units: 128`,
// `activation: relu`, `pool: [2, 2]`). Getters convert and validate; a bad or missing
// value throws graphrun::Error naming the node, the attribute and where it was written.
class Attributes {
 public:
  struct Value {
    std::vector<std::string> items;  // one item for a scalar
    bool is_list = false;
    std::string where;               // "graph.yaml:12:5", for messages
  };

  Attributes() = default;
  explicit Attributes(std::string node_name) : node_(std::move(node_name)) {}

  void set(const std::string& name, Value value) { values_[name] = std::move(value); }
  void set(const std::string& name, const std::string& scalar) {
    Value v;
    v.items = {scalar};
    values_[name] = std::move(v);
  }
  bool has(const std::string& name) const { return values_.count(name) > 0; }
  const std::map<std::string, Value>& all() const { return values_; }
  const std::string& node() const { return node_; }

  double number(const std::string& name) const;
  double number(const std::string& name, double fallback) const;
  int64_t integer(const std::string& name) const;
  int64_t integer(const std::string& name, int64_t fallback) const;
  bool boolean(const std::string& name, bool fallback) const;
  std::string text(const std::string& name) const;
  std::string text(const std::string& name, const std::string& fallback) const;
  // A list of integers; a scalar n is accepted as [n, n, ...] of `repeat` items.
  std::vector<int64_t> integers(const std::string& name, std::vector<int64_t> fallback, size_t repeat = 1) const;
  // A list of numbers; a scalar is a list of one.
  std::vector<double> numbers(const std::string& name, std::vector<double> fallback) const;
  // `text` restricted to the given choices.
  std::string choice(const std::string& name, const std::string& fallback,
                     const std::vector<std::string>& choices) const;

  [[noreturn]] void fail(const std::string& name, const std::string& what) const;

 private:
  const Value& require(const std::string& name) const;
  std::string node_;
  std::map<std::string, Value> values_;
};

}  // namespace graphrun
