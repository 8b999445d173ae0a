#pragma once
#include <string>

namespace graphrun {
// Number of threads oneDNN computes with (its OpenMP runtime); n <= 0 keeps the default.
void set_threads(int n);
int threads();
// The most threads a run may ask for: 4 per hardware thread (libgomp crashed or hung
// on thousands).
int max_threads();
// Throws Error, starting with `where` ("--threads" or "file:line:col: train.threads"), unless n is 0 (the
// default) or within 1..max_threads().
void check_threads(int n, const std::string& where);
}  // namespace graphrun
