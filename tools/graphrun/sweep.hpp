#pragma once
// `graphrun sweep`: trains a graph at every point of a grid of key values, each point in
// its own run folder, and tabulates the results sorted by a validation figure.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace graphrun::cli {

struct SweepOptions {
  std::string graph, out, sort;
  std::vector<std::string> grid;  // KEY=V1,V2,... each
  std::optional<uint64_t> seed;
  int threads = 0;
  bool quiet = false;
};

// Declares the subcommand and its options on `app` (main.cpp stays one line per command).
CLI::App* add_sweep(CLI::App& app, SweepOptions& opt);
int sweep(const SweepOptions& opt);

}  // namespace graphrun::cli
