#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace graphrun::cli {

struct Options {
  std::string graph, data, out, weights, split = "test";
  std::string precision;  // overrides train.precision when set
  std::string resume;  // train: the run folder to continue
  std::optional<uint64_t> seed;
  std::optional<int64_t> epochs;
  int threads = 0;
  bool verbose = false, quiet = false;
  bool weights_from_other_graph = false;  // load --weights whatever graph wrote them
};

int train(const Options& opt);
int eval(const Options& opt);
int summary(const Options& opt);
int plugins(const Options& opt);

}  // namespace graphrun::cli
