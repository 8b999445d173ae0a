#include "activation_fns.hpp"

#include <graphrun/error.hpp>

namespace graphrun::core {

const std::vector<std::string>& function_names() {
  static const std::vector<std::string> names{"linear", "relu", "sigmoid", "tanh", "softmax"};
  return names;
}

Function read_function(const Attributes& a, const std::string& name, const std::string& fallback) {
  if (fallback.empty()) a.text(name);  // missing -> "missing required attribute"
  const std::string s = a.choice(name, fallback, function_names());
  if (s == "relu") return Function::relu;
  if (s == "sigmoid") return Function::sigmoid;
  if (s == "tanh") return Function::tanh;
  if (s == "softmax") return Function::softmax;
  return Function::linear;
}

dnnl::algorithm eltwise_algorithm(Function f, bool use_dst_for_bwd) {
  using alg = dnnl::algorithm;
  switch (f) {
    case Function::relu: return use_dst_for_bwd ? alg::eltwise_relu_use_dst_for_bwd : alg::eltwise_relu;
    case Function::sigmoid: return use_dst_for_bwd ? alg::eltwise_logistic_use_dst_for_bwd : alg::eltwise_logistic;
    case Function::tanh: return use_dst_for_bwd ? alg::eltwise_tanh_use_dst_for_bwd : alg::eltwise_tanh;
    default: throw Error("internal: no eltwise algorithm for linear or softmax");
  }
}

namespace {

dnnl::eltwise_forward::primitive_desc eltwise_fwd_pd(Function f, const dnnl::memory::desc& data,
                                                      const dnnl::engine& engine) {
  dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_training, eltwise_algorithm(f, true), data, 0.f, 0.f);
  return dnnl::eltwise_forward::primitive_desc(d, engine);
}

dnnl::softmax_forward::primitive_desc softmax_fwd_pd(const dnnl::memory::desc& data, int axis,
                                                      const dnnl::engine& engine) {
  dnnl::softmax_forward::desc d(dnnl::prop_kind::forward_training, data, axis);
  return dnnl::softmax_forward::primitive_desc(d, engine);
}

}  // namespace

Planned plan_function_forward(Function f, const dnnl::memory::desc& data, int axis, const dnnl::engine& engine,
                              bool verbose, const std::string& what) {
  if (f == Function::softmax) {
    auto pd = softmax_fwd_pd(data, axis, engine);
    log_primitive(verbose, what, pd);
    return {dnnl::softmax_forward(pd), impl_name(pd)};
  }
  auto pd = eltwise_fwd_pd(f, data, engine);
  log_primitive(verbose, what, pd);
  return {dnnl::eltwise_forward(pd), impl_name(pd)};
}

Planned plan_function_backward(Function f, const dnnl::memory::desc& data, int axis, const dnnl::engine& engine,
                               bool verbose, const std::string& what) {
  if (f == Function::softmax) {
    dnnl::softmax_backward::desc d(data, data, axis);
    dnnl::softmax_backward::primitive_desc pd(d, engine, softmax_fwd_pd(data, axis, engine));
    log_primitive(verbose, what, pd);
    return {dnnl::softmax_backward(pd), impl_name(pd)};
  }
  dnnl::eltwise_backward::desc d(eltwise_algorithm(f, true), data, data, 0.f, 0.f);
  dnnl::eltwise_backward::primitive_desc pd(d, engine, eltwise_fwd_pd(f, data, engine));
  log_primitive(verbose, what, pd);
  return {dnnl::eltwise_backward(pd), impl_name(pd)};
}

}  // namespace graphrun::core
