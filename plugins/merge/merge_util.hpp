#pragma once
// Small helpers shared by the merge ops: batch dims, equal-shape checks and one
// planned oneDNN step (primitive + arguments) so a pass is a list of steps to run.
#include <graphrun/error.hpp>
#include <graphrun/node.hpp>
#include <graphrun/primitives.hpp>

#include <string>
#include <vector>

namespace graphrun::merge {

// Per-sample shape -> full dims with the batch first.
inline Shape with_batch(int64_t batch, const Shape& s) {
  Shape full{batch};
  full.insert(full.end(), s.begin(), s.end());
  return full;
}

// Two-input element-wise ops need equal per-sample shapes; the message names both.
inline void require_equal_shapes(const std::string& op, const std::vector<Shape>& in) {
  if (in.size() != 2) throw Error(op + " takes exactly 2 inputs, got " + std::to_string(in.size()));
  if (in[0].empty()) throw Error(op + " needs inputs with at least one per-sample dim, got []");
  if (in[0] != in[1])
    throw Error(op + " needs inputs of equal shape, got " + to_string(in[0]) + " (input 0) and " +
                to_string(in[1]) + " (input 1)");
}

// Rank-1 per-sample inputs of equal length, for the ops that reduce over features.
inline void require_equal_vectors(const std::string& op, const std::vector<Shape>& in) {
  require_equal_shapes(op, in);
  if (in[0].size() != 1)
    throw Error(op + " needs rank-1 inputs per sample (e.g. [128]), got " + to_string(in[0]) +
                "; add a flatten node before it");
}

// Whether input i's gradient is wanted (an empty list means every input's).
inline bool wants_grad(const PlanContext& ctx, size_t i) {
  return i >= ctx.needs_input_grad.size() || ctx.needs_input_grad[i];
}

// A primitive with its argument map, built in bind() and only executed afterwards.
struct Step {
  dnnl::primitive primitive;
  ArgMap args;
  void run(dnnl::stream& s) const {
    if (primitive) primitive.execute(s, args);
  }
};

// Logs a primitive and remembers its implementation name for implementations().
inline void note(const PlanContext& ctx, std::vector<std::string>& impls, const std::string& what,
                 const dnnl::primitive_desc_base& pd) {
  log_primitive(ctx.verbose, what, pd);
  impls.push_back(impl_name(pd));
}

inline dnnl::binary::primitive_desc binary_pd(const dnnl::engine& eng, dnnl::algorithm alg,
                                              const dnnl::memory::desc& src0, const dnnl::memory::desc& src1,
                                              const dnnl::memory::desc& dst,
                                              const dnnl::primitive_attr& attr = dnnl::primitive_attr()) {
  return dnnl::binary::primitive_desc(dnnl::binary::desc(alg, src0, src1, dst), attr, eng);
}

// y = alpha * x (eltwise linear), used to negate gradients.
inline dnnl::eltwise_forward::primitive_desc scale_pd(const dnnl::engine& eng, const dnnl::memory::desc& md,
                                                      float alpha) {
  return dnnl::eltwise_forward::primitive_desc(
      dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::eltwise_linear, md, alpha,
                                  0.f),
      eng);
}

inline dnnl::primitive_attr with_eltwise(dnnl::algorithm alg, float alpha = 0.f, float beta = 0.f) {
  dnnl::post_ops ops;
  ops.append_eltwise(1.f, alg, alpha, beta);
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  return attr;
}

}  // namespace graphrun::merge
