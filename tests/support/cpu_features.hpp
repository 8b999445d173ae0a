#pragma once
// What oneDNN's kernels on this machine are built around, for tests of layout and
// algorithm choices: AVX-512 machines block channels by 16 and have Winograd kernels;
// AVX2 machines block by 8 and have none.
#include <dnnl.hpp>

namespace graphrun::testing {

inline bool has_avx512_core() {
  const auto want = static_cast<unsigned>(dnnl::cpu_isa::avx512_core);
  return (static_cast<unsigned>(dnnl::get_effective_cpu_isa()) & want) == want;
}

inline bool has_avx2() {
  const auto want = static_cast<unsigned>(dnnl::cpu_isa::avx2);
  return (static_cast<unsigned>(dnnl::get_effective_cpu_isa()) & want) == want;
}

// The channel-blocked layout oneDNN's convolutions choose here.
inline dnnl::memory::format_tag native_blocked_tag() {
  return has_avx512_core() ? dnnl::memory::format_tag::nChw16c : dnnl::memory::format_tag::nChw8c;
}

}  // namespace graphrun::testing
