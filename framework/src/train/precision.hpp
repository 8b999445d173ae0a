#pragma once
// train.precision: f32 trains everywhere. bf16 (convolutions and inner products in bf16,
// everything else and the master weights in f32; PlanContext::compute) needs bf16
// arithmetic in the CPU; without it oneDNN would run bf16 convolutions on reference
// kernels, orders of magnitude slower, so the setting is refused up front rather than
// honoured slowly.
#include "graph/spec.hpp"

#include <string>

namespace graphrun {

// The flags line of /proc/cpuinfo ("" where it cannot be read).
std::string cpu_flags();

// The bf16 features among the CPU's flags (avx512_bf16, amx_bf16), space-separated; "" if none.
std::string bf16_features(const std::string& flags);

// Throws Error (at train.precision's file:line), naming the missing features, for a
// precision this CPU cannot train in; `flags` as cpu_flags() returns them.
void check_precision(const TrainSpec& t, const std::string& file, const std::string& flags);

}  // namespace graphrun
