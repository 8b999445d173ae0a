#include "train/precision.hpp"

#include <graphrun/error.hpp>

#include <fstream>
#include <sstream>

namespace graphrun {

std::string cpu_flags() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("flags", 0) == 0) {
      const size_t colon = line.find(':');
      return colon == std::string::npos ? "" : line.substr(colon + 1);
    }
  return "";
}

std::string bf16_features(const std::string& flags) {
  std::istringstream words(flags);
  std::string found;
  for (std::string w; words >> w;)
    if (w == "avx512_bf16" || w == "amx_bf16") found += (found.empty() ? "" : " ") + w;
  return found;
}

void check_precision(const TrainSpec& t, const std::string& file, const std::string& flags) {
  if (t.precision != "bf16" || !bf16_features(flags).empty()) return;
  const std::string where = t.precision_where.empty() ? file : t.precision_where;
  throw Error(where + ": train.precision: bf16 needs a CPU with bf16 arithmetic (avx512_bf16 or amx_bf16 in "
              "/proc/cpuinfo); this one has neither: use precision: f32");
}

}  // namespace graphrun
