#pragma once
// How every op runs an activation (graphrun/activation.hpp names them): conv2d, dense,
// batch_norm and the activation node plan theirs here. Forward and backward are oneDNN
// primitives, except
// - tanh forward: 2 * logistic(2x) - 1 as one binary primitive with two post-ops. oneDNN's
//   own tanh evaluates a polynomial whose coefficients it gathers per element and is
//   several times slower (tools/bench/README.md); this is within 2e-7 of tanh;
// - softmax backward along a plain last axis where oneDNN has only its reference kernel
//   (below AVX-512): graphrun's loop, dx = y * (dy - sum(dy * y)) per row.
#include <graphrun/activation.hpp>
#include <graphrun/primitives.hpp>

#include <functional>
#include <string>

namespace graphrun::activation {

// oneDNN's eltwise algorithm of relu, sigmoid or tanh (for post-ops). The *_use_dst_for_bwd
// variants compute the same forward and let backward use the output, so the input need not
// be kept.
dnnl::algorithm eltwise_algorithm(Activation f, bool use_dst_for_bwd);

// One planned pass of an activation function.
class Planned {
 public:
  Planned() = default;
  explicit operator bool() const { return bool(primitive_) || bool(loop_); }
  const std::string& impl() const { return impl_; }
  // Forward: src -> dst (they may be the same memory).
  ArgMap forward_args(const dnnl::memory& src, const dnnl::memory& dst) const;
  // Backward from the output: dst and diff_dst -> diff_src (all of one layout).
  ArgMap backward_args(const dnnl::memory& dst, const dnnl::memory& diff_dst, const dnnl::memory& diff_src) const;
  void execute(dnnl::stream& stream, const ArgMap& args) const;

 private:
  friend Planned plan_forward(Activation, const dnnl::memory::desc&, int, const dnnl::engine&, bool,
                              const std::string&);
  friend Planned plan_backward(Activation, const dnnl::memory::desc&, int, const dnnl::engine&, bool,
                               const std::string&);
  dnnl::primitive primitive_;
  std::function<void(const ArgMap&)> loop_;
  std::string impl_;
  dnnl::memory two_;               // tanh: the broadcast factor
  dnnl::memory::desc flat_;        // tanh: the data as one flat array
};

// Forward of f (not linear) on `data` in any layout; softmax along `axis`. Logs the
// implementation as `what` when verbose.
Planned plan_forward(Activation f, const dnnl::memory::desc& data, int axis, const dnnl::engine& engine, bool verbose,
                     const std::string& what);
// Backward of f (not linear) from its output, every tensor laid out as `data`.
Planned plan_backward(Activation f, const dnnl::memory::desc& data, int axis, const dnnl::engine& engine, bool verbose,
                      const std::string& what);

}  // namespace graphrun::activation
