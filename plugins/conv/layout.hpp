#pragma once
// Layout helpers of the conv family: which layouts reach a jit kernel (not a reference
// one, is_reference) differs per layer and pass.
#include <graphrun/primitives.hpp>
#include <graphrun/tensor.hpp>

#include <string>

namespace graphrun::conv {

// `tag` over `dims` in f32 (`any` lets the primitive choose).
inline dnnl::memory::desc tagged(const dnnl::memory::dims& dims, dnnl::memory::format_tag tag) {
  return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, tag);
}

}  // namespace graphrun::conv
