// The graph loader: any text either parses or throws graphrun::Error (with file:line:col);
// every other exception, crash, leak or sanitizer report is a bug.
#include <graphrun/error.hpp>

#include "graph/spec.hpp"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    graphrun::parse_graph_spec(text, "fuzz.yaml");
  } catch (const graphrun::Error&) {
  }
  return 0;
}
