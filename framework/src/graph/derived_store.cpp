#include "graph/derived_store.hpp"

namespace graphrun {

DerivedStore::Entry& DerivedStore::entry(const std::string& what, const dnnl::memory::desc& desc) {
  for (Entry& e : entries_)
    if (e.what == what && e.desc == desc) return e;
  entries_.push_back({what, desc, dnnl::memory(desc, engine_), {}});
  return entries_.back();
}

dnnl::memory DerivedStore::buffer(const std::string& what, const dnnl::memory::desc& desc) {
  return entry(what, desc).memory;
}

bool DerivedStore::changed(const std::string& what, const dnnl::memory::desc& desc, std::initializer_list<Part> parts) {
  return entry(what, desc).sources.changed(parts);
}

size_t DerivedStore::bytes() const {
  size_t total = 0;
  for (const Entry& e : entries_) total += e.desc.get_size();
  return total;
}

}  // namespace graphrun
