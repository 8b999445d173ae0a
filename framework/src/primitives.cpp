#include <graphrun/primitives.hpp>

#include <cstdio>

namespace graphrun {

void log_primitive(bool verbose, const std::string& what, const dnnl::primitive_desc_base& pd) {
  log_implementation(verbose, what, pd.impl_info_str());
}

void log_implementation(bool verbose, const std::string& what, const std::string& impl) {
  if (!verbose) return;
  std::fprintf(stderr, "[graphrun] %-40s %s%s\n", what.c_str(), impl.c_str(),
               impl.rfind("ref", 0) == 0 ? "   <-- reference kernel (slow)" : "");
}

}  // namespace graphrun
