#pragma once
#include <graphrun/tensor.hpp>

#include <cstddef>
#include <initializer_list>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace graphrun {

using ArgMap = std::unordered_map<int, dnnl::memory>;

inline dnnl::memory::dims to_dims(const Shape& s) { return dnnl::memory::dims(s.begin(), s.end()); }

// "jit:avx512_core", "ref:any", ... for logs; a "ref" implementation on a hot path is a bug.
inline std::string impl_name(const dnnl::primitive_desc_base& pd) { return pd.impl_info_str(); }

// True for oneDNN's reference kernels, 100-1000x slower than its jit ones.
inline bool is_reference(const std::string& impl) { return impl.rfind("ref", 0) == 0; }
inline bool is_reference(const dnnl::primitive_desc_base& pd) { return is_reference(impl_name(pd)); }

// Logs `op: pass -> implementation` to stderr when verbose is on.
void log_primitive(bool verbose, const std::string& what, const dnnl::primitive_desc_base& pd);
// The same for a pass a plugin computes itself (implementation named by the plugin).
void log_implementation(bool verbose, const std::string& what, const std::string& impl);

// The values a derived buffer (weights reordered for a primitive, or folded with a
// following batch_norm) was last made from. A frozen node rebuilds such a buffer only when
// its sources change (a checkpoint load), not every step; comparing is far cheaper than
// the reorders it saves.
class SourceValues {
 public:
  using Part = std::pair<const float*, size_t>;  // first float, count
  // True, and remembers the new values, when the concatenated parts differ from last time
  // (always true the first time).
  bool changed(std::initializer_list<Part> parts);

 private:
  std::vector<float> seen_;
  bool valid_ = false;
};

}  // namespace graphrun
