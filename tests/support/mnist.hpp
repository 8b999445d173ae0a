#pragma once
// Tests that train on MNIST need the set-up's data/mnist (tools/setup.sh fetches it).
#include <filesystem>
#include <string>

namespace graphrun::testing {

inline bool have_mnist() {
  return std::filesystem::exists(std::string(GRAPHRUN_SOURCE_DIR) + "/data/mnist/train-images-idx3-ubyte");
}

inline std::string graph_path(const std::string& name) { return std::string(GRAPHRUN_SOURCE_DIR) + "/tests/graphs/" + name; }

}  // namespace graphrun::testing
