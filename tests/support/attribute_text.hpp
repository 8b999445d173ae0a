#pragma once
// Attribute values written as the graph file would give them: "3" a scalar, "[3, 2]" a list.
#include <graphrun/attributes.hpp>

#include <string>

namespace graphrun::testing {

inline Attributes::Value attribute_value(const std::string& text) {
  Attributes::Value v;
  if (text.empty() || text[0] != '[') {
    v.items = {text};
    return v;
  }
  v.is_list = true;
  std::string item;
  for (char ch : text.substr(1)) {
    if (ch == ',' || ch == ']') {
      v.items.push_back(item);
      item.clear();
    } else if (ch != ' ') {
      item += ch;
    }
  }
  return v;
}

}  // namespace graphrun::testing
