// graphrun_conv_bench: oneDNN's convolution kernels alone, on the four convolutions of
// Koch et al.'s tower (R2, graphs/r2_koch_omniglot.yaml) at one training step's batch
// (32 pairs = 64 images). It is the ceiling graphrun's convolutions are compared against:
// every pass is created with format_tag::any for all its tensors, so each picks the
// layouts it is fastest on (graphrun has to use one activation layout for all three
// passes of a layer), and nothing else runs: no reorders, no batch norm, no framework.
//
//   graphrun_conv_bench [--batch 64] [--threads 2] [--repeats 5] [--layers conv1,conv2]
//                       [--precision f32|bf16]
//
// Passes: forward (training, bias, relu post-op: what graphrun creates), backward_data
// (not for conv1: the first layer's input needs no gradient, and oneDNN runs it on a
// reference kernel), backward_weights (with the bias gradient). Each primitive runs once
// untimed (kernels are generated on first use), then --repeats times; the table shows the
// median and the fastest run in ms, GFLOP/s of the median (2 * N * OC * OH * OW * IC * KH
// * KW per pass) and the oneDNN implementation. The last stdout line is one JSON object.
#include <dnnl.hpp>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

struct Layer {
  const char* name;
  int64_t ic, oc, size, kernel;  // square input of `size`, square kernel, stride 1, valid
  bool backward_data;
};

// Koch et al.'s tower on 105x105 images: 105 -> 96 -> pool 48 -> 42 -> 21 -> 18 -> 9 -> 6.
const Layer kLayers[] = {
    {"conv1", 1, 64, 105, 10, false},
    {"conv2", 64, 128, 48, 7, true},
    {"conv3", 128, 128, 21, 4, true},
    {"conv4", 128, 256, 9, 4, true},
};

struct Result {
  std::string layer, pass, impl;
  double median_ms = 0, min_ms = 0, gflop = 0;
};

memory filled(const memory::desc& d, const dnnl::engine& eng, std::mt19937& rng) {
  memory m(d, eng);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  if (d.data_type() == dt::bf16) {  // a bf16 is the upper half of an f32
    auto* p = static_cast<uint16_t*>(m.get_data_handle());
    for (size_t i = 0, n = d.get_size() / sizeof(uint16_t); i < n; ++i) {
      const float v = u(rng);
      uint32_t bits;
      std::memcpy(&bits, &v, sizeof bits);
      p[i] = static_cast<uint16_t>(bits >> 16);
    }
    return m;
  }
  auto* p = static_cast<float*>(m.get_data_handle());
  for (size_t i = 0, n = d.get_size() / sizeof(float); i < n; ++i) p[i] = u(rng);
  return m;
}

Result time_pass(const char* layer, const char* pass, const std::string& impl, double gflop, int repeats,
                 const std::function<void()>& run) {
  run();  // untimed: JIT kernels are generated on first use
  std::vector<double> ms;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    run();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  Result res{layer, pass, impl};
  res.median_ms = ms[ms.size() / 2];
  res.min_ms = ms.front();
  res.gflop = gflop;
  return res;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t batch = 64;
  int threads = 2, repeats = 5;
  std::string only;
  dt compute = dt::f32;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "graphrun_conv_bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--batch") batch = std::stoll(next());
    else if (a == "--threads") threads = std::stoi(next());
    else if (a == "--repeats") repeats = std::stoi(next());
    else if (a == "--layers") only = "," + next() + ",";
    else if (a == "--precision") {
      const std::string p = next();
      if (p != "f32" && p != "bf16") {
        std::fprintf(stderr, "graphrun_conv_bench: --precision is f32 or bf16, not '%s'\n", p.c_str());
        return 2;
      }
      compute = p == "bf16" ? dt::bf16 : dt::f32;
    } else {
      std::fprintf(stderr, "usage: graphrun_conv_bench [--batch 64] [--threads 2] [--repeats 5] [--layers conv1,conv2] "
                           "[--precision f32|bf16]\n");
      return a == "-h" || a == "--help" ? 0 : 2;
    }
  }
  if (batch < 1 || threads < 1 || repeats < 1) {
    std::fprintf(stderr, "graphrun_conv_bench: --batch, --threads and --repeats must be positive\n");
    return 2;
  }
  omp_set_num_threads(threads);
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream s(eng);
  std::mt19937 rng(0);
  std::vector<Result> results;

  for (const Layer& L : kLayers) {
    if (!only.empty() && only.find("," + std::string(L.name) + ",") == std::string::npos) continue;
    const int64_t out = L.size - L.kernel + 1;
    const memory::dims src_dims{batch, L.ic, L.size, L.size}, w_dims{L.oc, L.ic, L.kernel, L.kernel},
        b_dims{L.oc}, dst_dims{batch, L.oc, out, out}, strides{1, 1}, pad{0, 0};
    const double gflop = 2.0 * double(batch) * double(L.oc) * double(out * out) * double(L.ic) * double(L.kernel * L.kernel) * 1e-9;
    // Under bf16, as graphrun computes: bf16 inputs, weights and output gradients; f32
    // outputs, input gradients and weight gradients.
    const memory::desc src(src_dims, compute, tag::any), w(w_dims, compute, tag::any), b(b_dims, dt::f32, tag::x),
        dst(dst_dims, dt::f32, tag::any), dsrc(src_dims, dt::f32, tag::any), dw(w_dims, dt::f32, tag::any),
        ddst(dst_dims, compute, tag::any);
    const auto direct = dnnl::algorithm::convolution_direct;

    dnnl::post_ops ops;
    ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    const dnnl::convolution_forward::primitive_desc fwd_pd(
        dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, direct, src, w, b, dst, strides, pad, pad), attr, eng);
    {
      memory x = filled(fwd_pd.src_desc(), eng, rng), k = filled(fwd_pd.weights_desc(), eng, rng),
             bias = filled(fwd_pd.bias_desc(), eng, rng), y(fwd_pd.dst_desc(), eng);
      dnnl::convolution_forward prim(fwd_pd);
      results.push_back(time_pass(L.name, "forward", fwd_pd.impl_info_str(), gflop, repeats, [&] {
        prim.execute(s, {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, k}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST, y}});
        s.wait();
      }));
    }
    if (L.backward_data) {
      const dnnl::convolution_backward_data::primitive_desc pd(
          dnnl::convolution_backward_data::desc(direct, dsrc, w, ddst, strides, pad, pad), eng, fwd_pd);
      memory dx(pd.diff_src_desc(), eng), k = filled(pd.weights_desc(), eng, rng), dy = filled(pd.diff_dst_desc(), eng, rng);
      dnnl::convolution_backward_data prim(pd);
      results.push_back(time_pass(L.name, "backward_data", pd.impl_info_str(), gflop, repeats, [&] {
        prim.execute(s, {{DNNL_ARG_DIFF_SRC, dx}, {DNNL_ARG_WEIGHTS, k}, {DNNL_ARG_DIFF_DST, dy}});
        s.wait();
      }));
    }
    {
      const dnnl::convolution_backward_weights::primitive_desc pd(
          dnnl::convolution_backward_weights::desc(direct, src, dw, b, ddst, strides, pad, pad), eng, fwd_pd);
      memory x = filled(pd.src_desc(), eng, rng), dy = filled(pd.diff_dst_desc(), eng, rng), dk(pd.diff_weights_desc(), eng),
             db(pd.diff_bias_desc(), eng);
      dnnl::convolution_backward_weights prim(pd);
      results.push_back(time_pass(L.name, "backward_weights", pd.impl_info_str(), gflop, repeats, [&] {
        prim.execute(s, {{DNNL_ARG_SRC, x}, {DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_WEIGHTS, dk}, {DNNL_ARG_DIFF_BIAS, db}});
        s.wait();
      }));
    }
  }

  double total_ms = 0, total_gflop = 0;
  std::printf("oneDNN %d.%d.%d, %s, batch %lld, %d threads, %d timed repetitions per pass (format_tag::any everywhere)\n",
              dnnl_version()->major, dnnl_version()->minor, dnnl_version()->patch, compute == dt::bf16 ? "bf16" : "f32",
              static_cast<long long>(batch), threads, repeats);
  std::printf("%-6s %-17s %10s %10s %8s %9s  %s\n", "layer", "pass", "median ms", "min ms", "GFLOP", "GFLOP/s", "implementation");
  std::ostringstream json;
  json << "{\"precision\": \"" << (compute == dt::bf16 ? "bf16" : "f32") << "\", \"batch\": " << batch << ", \"threads\": " << threads << ", \"repeats\": " << repeats << ", \"passes\": [";
  for (size_t i = 0; i < results.size(); ++i) {
    const Result& r = results[i];
    total_ms += r.median_ms;
    total_gflop += r.gflop;
    std::printf("%-6s %-17s %10.2f %10.2f %8.2f %9.1f  %s%s\n", r.layer.c_str(), r.pass.c_str(), r.median_ms, r.min_ms, r.gflop,
                r.gflop / (r.median_ms * 1e-3), r.impl.c_str(), r.impl.rfind("ref", 0) == 0 ? "   <-- reference kernel" : "");
    json << (i ? ", " : "") << "{\"layer\": \"" << r.layer << "\", \"pass\": \"" << r.pass << "\", \"median_ms\": " << r.median_ms
         << ", \"min_ms\": " << r.min_ms << ", \"gflop\": " << r.gflop << ", \"impl\": \"" << r.impl << "\"}";
  }
  std::printf("%-6s %-17s %10.2f %10s %8.2f %9.1f\n", "total", "", total_ms, "", total_gflop, total_gflop / (total_ms * 1e-3));
  json << "], \"total_ms\": " << total_ms << ", \"total_gflop\": " << total_gflop << "}";
  std::printf("%s\n", json.str().c_str());
  return 0;
}
