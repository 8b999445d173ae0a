#include "common/compute_copy.hpp"

namespace graphrun {

dnnl::memory::desc with_data_type(const dnnl::memory::desc& desc, dnnl::memory::data_type type) {
  dnnl_memory_desc_t d = desc.data;  // strides and blocks count elements, not bytes
  d.data_type = dnnl::memory::convert_to_c(type);
  return dnnl::memory::desc(d);
}

void ComputeCopy::plan(const dnnl::memory::desc& from, const dnnl::memory::desc& to, const dnnl::engine& eng,
                       const std::string& what, const Note& note) {
  copy_ = {};
  reorder_ = {};
  if (from == to) return;
  dnnl::reorder::primitive_desc pd(eng, from, eng, to);
  reorder_ = dnnl::reorder(pd);
  copy_ = dnnl::memory(to, eng);
  note(what, pd);
}

void ComputeCopy::run(dnnl::stream& s, const dnnl::memory& source) const {
  if (!copy_) return;
  dnnl::memory from = source, to = copy_;
  reorder_.execute(s, from, to);
}

}  // namespace graphrun
