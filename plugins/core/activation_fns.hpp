#pragma once
// Activation functions shared by dense (fused into the inner product) and activation
// (standalone): attribute parsing and the oneDNN primitives of each function.
#include <graphrun/attributes.hpp>
#include <graphrun/primitives.hpp>

#include <functional>
#include <string>
#include <vector>

namespace graphrun::core {

enum class Function { linear, relu, sigmoid, tanh, softmax };

const std::vector<std::string>& function_names();

// Reads attribute `name`; "" as fallback makes it required.
Function read_function(const Attributes& a, const std::string& name, const std::string& fallback);

// eltwise algorithm of relu/sigmoid/tanh. The *_use_dst_for_bwd variants compute the
// same forward and let backward use dst, so the input need not be kept.
dnnl::algorithm eltwise_algorithm(Function f, bool use_dst_for_bwd);

// One planned step: a oneDNN primitive, or graphrun's own loop where oneDNN has only its
// reference kernel for this machine (softmax backward below AVX-512 runs ~100x slower).
struct Planned {
  dnnl::primitive primitive;
  std::string impl;
  std::function<void(const ArgMap&)> loop;

  explicit operator bool() const { return bool(primitive) || bool(loop); }
  void execute(dnnl::stream& stream, const ArgMap& args) const;
};

// Forward of f (not linear) on `data`; softmax runs along `axis`.
// Arguments: DNNL_ARG_SRC, DNNL_ARG_DST (may be the same memory).
Planned plan_function_forward(Function f, const dnnl::memory::desc& data, int axis, const dnnl::engine& engine,
                              bool verbose, const std::string& what);

// Backward of f (not linear) from its output. Arguments: DNNL_ARG_DST, DNNL_ARG_DIFF_DST,
// DNNL_ARG_DIFF_SRC, all with layout `data`.
Planned plan_function_backward(Function f, const dnnl::memory::desc& data, int axis, const dnnl::engine& engine,
                               bool verbose, const std::string& what);

}  // namespace graphrun::core
