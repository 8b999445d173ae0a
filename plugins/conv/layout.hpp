#pragma once
// Layout helpers of the conv family: oneDNN's reference kernels are 100-1000x slower
// than its jit ones, and which layouts reach a jit kernel differs per layer and pass.
#include <graphrun/tensor.hpp>

#include <string>

namespace graphrun::conv {

inline bool is_ref(const dnnl::primitive_desc_base& pd) {
  return std::string(pd.impl_info_str()).rfind("ref", 0) == 0;
}

// `tag` over `dims` in f32 (`any` lets the primitive choose).
inline dnnl::memory::desc tagged(const dnnl::memory::dims& dims, dnnl::memory::format_tag tag) {
  return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, tag);
}

}  // namespace graphrun::conv
