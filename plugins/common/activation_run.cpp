#include "common/activation_run.hpp"

#include <graphrun/error.hpp>

namespace graphrun::activation {
namespace {

using dnnl::memory;

dnnl::eltwise_forward::primitive_desc eltwise_forward_pd(Activation f, const memory::desc& data,
                                                         const dnnl::engine& engine) {
  return dnnl::eltwise_forward::primitive_desc({dnnl::prop_kind::forward_training, eltwise_algorithm(f, true), data},
                                               engine);
}

dnnl::softmax_forward::primitive_desc softmax_forward_pd(const memory::desc& data, int axis,
                                                         const dnnl::engine& engine) {
  return dnnl::softmax_forward::primitive_desc({dnnl::prop_kind::forward_training, data, axis}, engine);
}

std::function<void(const ArgMap&)> softmax_backward_loop(const memory::desc& data) {
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

bool plain_along_last_axis(const memory::desc& data, int axis) {
  const auto dims = data.dims();
  return axis == static_cast<int>(dims.size()) - 1 && data == plain_desc(Shape(dims.begin(), dims.end()));
}

}  // namespace

dnnl::algorithm eltwise_algorithm(Activation f, bool use_dst_for_bwd) {
  using alg = dnnl::algorithm;
  switch (f) {
    case Activation::relu: return use_dst_for_bwd ? alg::eltwise_relu_use_dst_for_bwd : alg::eltwise_relu;
    case Activation::sigmoid: return use_dst_for_bwd ? alg::eltwise_logistic_use_dst_for_bwd : alg::eltwise_logistic;
    case Activation::tanh: return use_dst_for_bwd ? alg::eltwise_tanh_use_dst_for_bwd : alg::eltwise_tanh;
    default: throw Error(std::string("internal: no eltwise algorithm for ") + activation_name(f));
  }
}

ArgMap Planned::forward_args(const memory& src, const memory& dst) const {
  if (!two_) return {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
  const dnnl::engine engine = src.get_engine();
  return {{DNNL_ARG_SRC_0, memory(flat_, engine, src.get_data_handle())},
          {DNNL_ARG_SRC_1, two_},
          {DNNL_ARG_DST, memory(flat_, engine, dst.get_data_handle())}};
}

ArgMap Planned::backward_args(const memory& dst, const memory& diff_dst, const memory& diff_src) const {
  return {{DNNL_ARG_DST, dst}, {DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_DIFF_SRC, diff_src}};
}

void Planned::execute(dnnl::stream& stream, const ArgMap& args) const {
  if (loop_) loop_(args);
  else primitive_.execute(stream, args);
}

Planned plan_forward(Activation f, const memory::desc& data, int axis, const dnnl::engine& engine, bool verbose,
                     const std::string& what) {
  Planned p;
  if (f == Activation::softmax) {
    auto pd = softmax_forward_pd(data, axis, engine);
    p.primitive_ = dnnl::softmax_forward(pd);
    p.impl_ = impl_name(pd);
  } else if (f == Activation::tanh) {
    // Element-wise, so any layout is run as one flat array (a blocked layout's zero padding
    // stays zero: 2 * logistic(0) - 1 = 0 exactly); jit binary kernels broadcast a scalar
    // only over plain layouts.
    p.flat_ = memory::desc({memory::dim(data.get_size() / sizeof(float))}, memory::data_type::f32, memory::format_tag::a);
    const memory::desc scalar({1}, memory::data_type::f32, memory::format_tag::a);
    p.two_ = memory(scalar, engine);
    *static_cast<float*>(p.two_.get_data_handle()) = 2.f;
    dnnl::post_ops ops;
    ops.append_eltwise(1.f, dnnl::algorithm::eltwise_logistic, 0.f, 0.f);
    ops.append_eltwise(1.f, dnnl::algorithm::eltwise_linear, 2.f, -1.f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    dnnl::binary::primitive_desc pd({dnnl::algorithm::binary_mul, p.flat_, scalar, p.flat_}, attr, engine);
    p.primitive_ = dnnl::binary(pd);
    p.impl_ = impl_name(pd);
  } else {
    auto pd = eltwise_forward_pd(f, data, engine);
    p.primitive_ = dnnl::eltwise_forward(pd);
    p.impl_ = impl_name(pd);
  }
  log_implementation(verbose, what, p.impl_);
  return p;
}

Planned plan_backward(Activation f, const memory::desc& data, int axis, const dnnl::engine& engine, bool verbose,
                      const std::string& what) {
  Planned p;
  if (f == Activation::softmax) {
    dnnl::softmax_backward::primitive_desc pd({data, data, axis}, engine, softmax_forward_pd(data, axis, engine));
    if (is_reference(pd) && plain_along_last_axis(data, axis)) {
      p.loop_ = softmax_backward_loop(data);
      p.impl_ = "graphrun:softmax_backward";
    } else {
      p.primitive_ = dnnl::softmax_backward(pd);
      p.impl_ = impl_name(pd);
    }
  } else {
    dnnl::eltwise_backward::primitive_desc pd({eltwise_algorithm(f, true), data, data}, engine,
                                              eltwise_forward_pd(f, data, engine));
    p.primitive_ = dnnl::eltwise_backward(pd);
    p.impl_ = impl_name(pd);
  }
  log_implementation(verbose, what, p.impl_);
  return p;
}

}  // namespace graphrun::activation
