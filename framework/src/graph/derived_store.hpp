#pragma once
// The buffers a node derives from its parameters, one store per node of a model, shared
// by every plan (graphrun::DerivedWeights).
#include <graphrun/node.hpp>
#include <graphrun/primitives.hpp>

#include <string>
#include <vector>

namespace graphrun {

class DerivedStore : public DerivedWeights {
 public:
  explicit DerivedStore(dnnl::engine engine) : engine_(std::move(engine)) {}
  dnnl::memory buffer(const std::string& what, const dnnl::memory::desc& desc) override;
  bool changed(const std::string& what, const dnnl::memory::desc& desc, std::initializer_list<Part> parts) override;
  size_t bytes() const;  // of every buffer held

 private:
  struct Entry {
    std::string what;
    dnnl::memory::desc desc;
    dnnl::memory memory;
    SourceValues sources;
  };
  Entry& entry(const std::string& what, const dnnl::memory::desc& desc);
  dnnl::engine engine_;
  std::vector<Entry> entries_;  // a node has a few
};

}  // namespace graphrun
