#include "train/threads.hpp"

#include <omp.h>

namespace graphrun {
void set_threads(int n) {
  if (n > 0) omp_set_num_threads(n);
}
int threads() { return omp_get_max_threads(); }
}  // namespace graphrun
