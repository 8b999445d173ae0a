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

// Element-wise, so any layout is run as one flat array (a blocked layout's zero padding
// stays zero: 2 * logistic(0) - 1 = 0 exactly); jit binary kernels broadcast a scalar
// only over plain layouts.
TanhForward::TanhForward(const dnnl::memory::desc& data, const dnnl::engine& engine)
    : flat_(dnnl::memory::dims{dnnl::memory::dim(data.get_size() / sizeof(float))}, dnnl::memory::data_type::f32,
            dnnl::memory::format_tag::a) {
  const dnnl::memory::desc scalar({1}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::a);
  two = dnnl::memory(scalar, engine);
  *static_cast<float*>(two.get_data_handle()) = 2.f;
  dnnl::post_ops ops;
  ops.append_eltwise(1.f, dnnl::algorithm::eltwise_logistic, 0.f, 0.f);
  ops.append_eltwise(1.f, dnnl::algorithm::eltwise_linear, 2.f, -1.f);
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  dnnl::binary::primitive_desc pd({dnnl::algorithm::binary_mul, flat_, scalar, flat_}, attr, engine);
  primitive = dnnl::binary(pd);
  impl = pd.impl_info_str();
}

ArgMap TanhForward::args(const dnnl::memory& src, const dnnl::memory& dst) const {
  const dnnl::engine engine = src.get_engine();
  return {{DNNL_ARG_SRC_0, dnnl::memory(flat_, engine, src.get_data_handle())},
          {DNNL_ARG_SRC_1, two},
          {DNNL_ARG_DST, dnnl::memory(flat_, engine, dst.get_data_handle())}};
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
