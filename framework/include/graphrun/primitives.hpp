#pragma once
#include <graphrun/tensor.hpp>

#include <string>
#include <unordered_map>

namespace graphrun {

using ArgMap = std::unordered_map<int, dnnl::memory>;

inline dnnl::memory::dims to_dims(const Shape& s) { return dnnl::memory::dims(s.begin(), s.end()); }

// "jit:avx512_core", "ref:any", ... for logs; a "ref" implementation on a hot path is a bug.
inline std::string impl_name(const dnnl::primitive_desc_base& pd) { return pd.impl_info_str(); }

// Logs `op: pass -> implementation` to stderr when verbose is on.
void log_primitive(bool verbose, const std::string& what, const dnnl::primitive_desc_base& pd);
// The same for a pass a plugin computes itself (implementation named by the plugin).
void log_implementation(bool verbose, const std::string& what, const std::string& impl);

}  // namespace graphrun
