#pragma once
// Computing in bf16 (PlanContext::compute) while the tensors between nodes stay f32:
// oneDNN's bf16 convolutions and inner products read bf16 copies of their f32 inputs,
// made by a reorder each time the input changes. f32 outputs and f32 weight gradients
// keep the accumulation (and the master weights' updates) in f32.
#include <graphrun/primitives.hpp>

#include <functional>
#include <string>

namespace graphrun {

// `desc` with elements of `type`: the same dims and layout (`any` stays `any`).
dnnl::memory::desc with_data_type(const dnnl::memory::desc& desc, dnnl::memory::data_type type);

// A copy of an f32 tensor in the layout and type a primitive reads, or nothing where the
// primitive reads the tensor as it is.
class ComputeCopy {
 public:
  using Note = std::function<void(const std::string&, const dnnl::primitive_desc_base&)>;
  // `note` is told of the reorder (named `what`) when there is one.
  void plan(const dnnl::memory::desc& from, const dnnl::memory::desc& to, const dnnl::engine& eng,
            const std::string& what, const Note& note);
  explicit operator bool() const { return bool(copy_); }
  // The memory the primitive reads: the copy, or `source` itself.
  dnnl::memory read(const dnnl::memory& source) const { return copy_ ? copy_ : source; }
  // Brings the copy up to date with `source` (nothing without a copy).
  void run(dnnl::stream& s, const dnnl::memory& source) const;

 private:
  dnnl::memory copy_;
  dnnl::reorder reorder_;
};

}  // namespace graphrun
