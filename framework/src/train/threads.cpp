#include "train/threads.hpp"

#include <graphrun/error.hpp>

#include <omp.h>

#include <algorithm>
#include <thread>

namespace graphrun {
void set_threads(int n) {
  if (n > 0) omp_set_num_threads(n);
}
int threads() { return omp_get_max_threads(); }

int max_threads() {
  const int cores = std::max({1, int(std::thread::hardware_concurrency()), omp_get_num_procs()});
  return 4 * cores;
}

void check_threads(int n, const std::string& where) {
  if (n == 0 || (n >= 1 && n <= max_threads())) return;
  throw Error(where + " " + std::to_string(n) + " is outside the allowed range 1.." + std::to_string(max_threads()) +
              " (at most 4 per hardware thread, of which this machine has " + std::to_string(max_threads() / 4) +
              "; 0 or absent keeps the default)");
}
}  // namespace graphrun
