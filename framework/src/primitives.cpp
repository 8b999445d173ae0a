#include <graphrun/primitives.hpp>

#include <cstdio>
#include <cstring>

namespace graphrun {

void log_primitive(bool verbose, const std::string& what, const dnnl::primitive_desc_base& pd) {
  log_implementation(verbose, what, pd.impl_info_str());
}

void log_implementation(bool verbose, const std::string& what, const std::string& impl) {
  if (!verbose) return;
  std::fprintf(stderr, "[graphrun] %-40s %s%s\n", what.c_str(), impl.c_str(),
               is_reference(impl) ? "   <-- reference kernel (slow)" : "");
}

bool SourceValues::changed(std::initializer_list<Part> parts) {
  size_t total = 0;
  for (const Part& p : parts) total += p.second;
  bool same = valid_ && total == seen_.size();
  size_t at = 0;
  for (const Part& p : parts) {
    if (!same) break;
    same = std::memcmp(seen_.data() + at, p.first, p.second * sizeof(float)) == 0;
    at += p.second;
  }
  if (same) return false;
  seen_.resize(total);
  at = 0;
  for (const Part& p : parts) {
    std::memcpy(seen_.data() + at, p.first, p.second * sizeof(float));
    at += p.second;
  }
  valid_ = true;
  return true;
}

}  // namespace graphrun
