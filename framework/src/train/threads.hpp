#pragma once

namespace graphrun {
// Number of threads oneDNN computes with (its OpenMP runtime); n <= 0 keeps the default.
void set_threads(int n);
int threads();
}  // namespace graphrun
