#pragma once
// What the conv2d tests build their layers from: attributes, input layouts, ramps.
#include <graphrun/attributes.hpp>
#include <graphrun/tensor.hpp>

#include <dnnl.hpp>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "attribute_text.hpp"

namespace graphrun::testing {

inline Attributes conv_attrs(const std::string& filters, const std::string& kernel,
                             std::initializer_list<std::pair<std::string, std::string>> more = {}) {
  Attributes a("conv");
  a.set("filters", attribute_value(filters));
  a.set("kernel_size", attribute_value(kernel));
  for (const auto& [k, v] : more) a.set(k, attribute_value(v));
  return a;
}

inline dnnl::memory::desc layout(const Shape& dims, dnnl::memory::format_tag t) {
  return dnnl::memory::desc(dnnl::memory::dims(dims.begin(), dims.end()), dnnl::memory::data_type::f32, t);
}

// start, start + step, ...: distinct values, so a misplaced element shows.
inline std::vector<float> iota(size_t n, float start = 1.f, float step = 1.f) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = start + step * float(i);
  return v;
}

}  // namespace graphrun::testing
