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

// Softmax backward along the last axis of a dense row-major tensor, from its output y:
// dx = y * (dy - sum(dy * y)) per row.
std::function<void(const ArgMap&)> softmax_backward_loop(const dnnl::memory::desc& data) {
  const auto dims = data.dims();
  const int64_t cols = dims.back();
  int64_t rows = 1;
  for (size_t i = 0; i + 1 < dims.size(); ++i) rows *= dims[i];
  return [rows, cols](const ArgMap& args) {
    const auto* y = static_cast<const float*>(args.at(DNNL_ARG_DST).get_data_handle());
    const auto* dy = static_cast<const float*>(args.at(DNNL_ARG_DIFF_DST).get_data_handle());
    auto* dx = static_cast<float*>(args.at(DNNL_ARG_DIFF_SRC).get_data_handle());
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t at = r * cols;
      float dot = 0.f;
      for (int64_t c = 0; c < cols; ++c) dot += dy[at + c] * y[at + c];
      for (int64_t c = 0; c < cols; ++c) dx[at + c] = y[at + c] * (dy[at + c] - dot);
    }
  };
}

bool plain_along_last_axis(const dnnl::memory::desc& data, int axis) {
  const auto dims = data.dims();
  return axis == static_cast<int>(dims.size()) - 1 && data == plain_desc(Shape(dims.begin(), dims.end()));
}

}  // namespace

void Planned::execute(dnnl::stream& stream, const ArgMap& args) const {
  if (loop)
    loop(args);
  else
    primitive.execute(stream, args);
}

Planned plan_function_forward(Function f, const dnnl::memory::desc& data, int axis, const dnnl::engine& engine,
                              bool verbose, const std::string& what) {
  if (f == Function::softmax) {
    auto pd = softmax_fwd_pd(data, axis, engine);
    log_primitive(verbose, what, pd);
    return {dnnl::softmax_forward(pd), impl_name(pd), {}};
  }
  auto pd = eltwise_fwd_pd(f, data, engine);
  log_primitive(verbose, what, pd);
  return {dnnl::eltwise_forward(pd), impl_name(pd), {}};
}

Planned plan_function_backward(Function f, const dnnl::memory::desc& data, int axis, const dnnl::engine& engine,
                               bool verbose, const std::string& what) {
  if (f == Function::softmax) {
    dnnl::softmax_backward::desc d(data, data, axis);
    dnnl::softmax_backward::primitive_desc pd(d, engine, softmax_fwd_pd(data, axis, engine));
    if (is_reference(pd) && plain_along_last_axis(data, axis)) {
      log_implementation(verbose, what, "graphrun:softmax_backward");
      return {dnnl::primitive(), "graphrun:softmax_backward", softmax_backward_loop(data)};
    }
    log_primitive(verbose, what, pd);
    return {dnnl::softmax_backward(pd), impl_name(pd), {}};
  }
  dnnl::eltwise_backward::desc d(eltwise_algorithm(f, true), data, data, 0.f, 0.f);
  dnnl::eltwise_backward::primitive_desc pd(d, engine, eltwise_fwd_pd(f, data, engine));
  log_primitive(verbose, what, pd);
  return {dnnl::eltwise_backward(pd), impl_name(pd), {}};
}

}  // namespace graphrun::core
