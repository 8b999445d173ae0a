// The layouts conv2d and the pooling nodes choose, and that none of the primitives they
// run is one of oneDNN's reference kernels (100-1000x slower) on the reference layers.
#include <doctest/doctest.h>

#include <algorithm>
#include <graphrun/harness.hpp>

#include "cpu_features.hpp"
#include "graph/derived_store.hpp"
#include "plugins.hpp"

using namespace graphrun;
using tag = dnnl::memory::format_tag;

namespace {

dnnl::memory::desc layout(const Shape& dims, tag t) {
  return dnnl::memory::desc(dnnl::memory::dims(dims.begin(), dims.end()), dnnl::memory::data_type::f32, t);
}

Attributes conv(const std::string& filters, const std::string& kernel, const std::string& activation) {
  Attributes a("conv");
  a.set("filters", filters);
  a.set("kernel_size", kernel);
  a.set("activation", activation);
  return a;
}

struct Planned {
  dnnl::memory::desc input, output;
  std::vector<std::string> impls;
};

// Plans one node as the executor would: the producer delivers `producer`.
Planned plan(const std::string& op, const Attributes& a, const Shape& in, int64_t batch, tag producer,
             bool input_grad = true) {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  DerivedStore derived(engine);  // outlives the node, which may keep it
  auto node = testing::registry().find(op)->make(a);
  Shape out = node->infer({in});
  node->params({in});
  Shape full{batch};
  full.insert(full.end(), in.begin(), in.end());
  PlanContext ctx(engine, batch);
  ctx.derived = &derived;
  ctx.input_shapes = {in};
  ctx.output_shape = out;
  ctx.inputs = {layout(full, producer)};
  ctx.needs_input_grad = {input_grad};
  Planned p;
  p.output = node->plan(ctx);
  p.input = ctx.inputs[0];
  p.impls = node->implementations();
  return p;
}

bool has_ref(const std::vector<std::string>& impls) {
  for (const auto& i : impls)
    if (i.rfind("ref", 0) == 0) return true;
  return false;
}

std::string joined(const std::vector<std::string>& impls) {
  std::string s;
  for (const auto& i : impls) s += i + " ";
  return s;
}

}  // namespace

TEST_CASE("conv2d: no reference kernel on the R4 layers (batch 16) or Koch's first layer (batch 2)") {
  // R4 conv1: 1 -> 4, 5x5 on 28x28; the first layer, so no backward_data.
  NodeHarness::Options first;
  first.batch = 16;
  first.needs_input_grad = {false};
  NodeHarness c1(testing::registry(), "conv2d", conv("4", "5", "tanh"), {{1, 28, 28}}, first);
  INFO("conv1: " << joined(c1.implementations()));
  CHECK(c1.implementations().size() >= 3u);  // forward, activation, backward weights
  CHECK_FALSE(has_ref(c1.implementations()));
  c1.forward();
  // In the R4 graph a batch_norm precedes conv1 and needs its input gradient.
  NodeHarness::Options after_bn;
  after_bn.batch = 16;
  NodeHarness c1b(testing::registry(), "conv2d", conv("4", "5", "tanh"), {{1, 28, 28}}, after_bn);
  INFO("conv1 with backward data: " << joined(c1b.implementations()));
  CHECK(c1b.implementations().size() >= 4u);
  CHECK_FALSE(has_ref(c1b.implementations()));
  // Its data gradient is graphrun's own one-channel kernel (oneDNN's kernel for this pass is slow with one input channel).
  const auto impls = c1b.implementations();
  CHECK(std::find(impls.begin(), impls.end(), "graphrun:one_channel") != impls.end());

  // R4 conv2: 4 -> 16, 5x5 on 12x12, whatever layout its producer delivers.
  for (tag producer : {tag::nchw, tag::nhwc, tag::nChw8c, tag::nChw16c}) {
    CAPTURE(int(producer));
    NodeHarness::Options o;
    o.batch = 16;
    o.input_layouts = {layout({16, 4, 12, 12}, producer)};
    NodeHarness c2(testing::registry(), "conv2d", conv("16", "5", "tanh"), {{4, 12, 12}}, o);
    INFO("conv2: " << joined(c2.implementations()));
    CHECK(c2.implementations().size() >= 4u);  // forward, activation, backward data and weights
    CHECK_FALSE(has_ref(c2.implementations()));
  }

  // Koch conv1: 1 -> 64, 10x10 on 105x105, forward only at batch 2.
  NodeHarness::Options koch;
  koch.batch = 2;
  koch.needs_input_grad = {false};
  NodeHarness k1(testing::registry(), "conv2d", conv("64", "10", "relu"), {{1, 105, 105}}, koch);
  INFO("koch conv1: " << joined(k1.implementations()));
  CHECK_FALSE(has_ref(k1.implementations()));
  k1.forward();
  CHECK(k1.output_shape() == Shape{64, 96, 96});
}

TEST_CASE("conv2d: few channels run nhwc, a blocked 4-channel input is asked for as nhwc") {
  const Shape nhwc_in{16, 4, 12, 12}, nhwc_out{16, 16, 8, 8};
  Planned p = plan("conv2d", conv("16", "5", "tanh"), {4, 12, 12}, 16, tag::nChw16c);
  INFO(joined(p.impls));
  CHECK(p.input == layout(nhwc_in, tag::nhwc));
  CHECK(p.output == layout(nhwc_out, tag::nhwc));
  CHECK_FALSE(has_ref(p.impls));

  // One input channel and few filters: graphrun's own kernels, on plain images.
  Planned first = plan("conv2d", conv("4", "5", "tanh"), {1, 28, 28}, 16, tag::nchw, false);
  CHECK(first.input == layout({16, 1, 28, 28}, tag::nchw));
  CHECK(first.output == layout({16, 4, 24, 24}, tag::nchw));
  CHECK(std::count(first.impls.begin(), first.impls.end(), "graphrun:one_channel") == 2);  // fwd, weights
  // With more filters (a multiple of the vector width), graphrun's channel-blocked kernels,
  // in the blocked layout oneDNN's kernels here use: nchw is still taken as it comes.
  Planned wide = plan("conv2d", conv("16", "3", "relu"), {1, 28, 28}, 16, tag::nchw, false);
  INFO(joined(wide.impls));
  CHECK(wide.input == layout({16, 1, 28, 28}, tag::nchw));
  CHECK_FALSE(has_ref(wide.impls));
  if (testing::has_avx2()) {
    CHECK(wide.output == layout({16, 16, 26, 26}, testing::native_blocked_tag()));
    CHECK(std::count(wide.impls.begin(), wide.impls.end(), "graphrun:one_channel_blocked") == 2);
  }
}

TEST_CASE("conv2d: many channels keep blocked activations between layers") {
  const tag blocked = testing::native_blocked_tag();
  // (A 3x3 kernel is Winograd: channels-last on AVX2, see below.)
  Planned p = plan("conv2d", conv("32", "5", "relu"), {16, 10, 10}, 4, blocked);
  INFO(joined(p.impls));
  CHECK(p.input == layout({4, 16, 10, 10}, blocked));
  CHECK(p.output.data.format_desc.blocking.inner_nblks == 1);  // blocked over channels
  CHECK_FALSE(has_ref(p.impls));
  if (!testing::has_avx512_core()) {
    Planned w = plan("conv2d", conv("32", "3", "relu"), {16, 10, 10}, 4, blocked);
    INFO(joined(w.impls));
    CHECK(w.input == layout({4, 16, 10, 10}, tag::nhwc));
    CHECK(w.output == layout({4, 32, 8, 8}, tag::nhwc));
    CHECK(std::count(w.impls.begin(), w.impls.end(), "graphrun:winograd_f2x2") == 3);  // + relu backward
    CHECK_FALSE(has_ref(w.impls));
  }
  // A first layer with many filters reads the plain image as it comes and writes blocked
  // output (AVX-512) or nhwc (AVX2, whose kernels for this layer have no blocked output).
  Planned k = plan("conv2d", conv("64", "10", "relu"), {1, 105, 105}, 2, tag::nchw, false);
  INFO(joined(k.impls));
  CHECK(k.input == layout({2, 1, 105, 105}, tag::nchw));
  if (testing::has_avx512_core())
    CHECK(k.output.data.format_desc.blocking.inner_nblks == 1);
  else
    CHECK(k.output == layout({2, 64, 96, 96}, tag::nhwc));
  CHECK_FALSE(has_ref(k.impls));
}

TEST_CASE("max_pool2d and avg_pool2d: keep the producer's layout") {
  // (A blocked layout of the other ISA is ref here and is rightly turned into nhwc.)
  Attributes none("pool");
  for (const std::string op : {"max_pool2d", "avg_pool2d"})
    for (tag t : {tag::nchw, tag::nhwc, testing::native_blocked_tag()}) {
      CAPTURE(op);
      CAPTURE(int(t));
      Planned p = plan(op, none, {4, 24, 24}, 16, t);
      CHECK(p.input == layout({16, 4, 24, 24}, t));
      CHECK(p.output == layout({16, 4, 12, 12}, t));
      CHECK_FALSE(has_ref(p.impls));
    }
}

TEST_CASE("max_pool2d and avg_pool2d: graphrun's own kernels in every layout they read") {
  // (oneDNN 2.6's pooling measured 5-15x slower than them on AVX2; on plain planes its
  // generic simple_nchw kernel took a third of an R4 step.)
  for (const std::string op : {"max_pool2d", "avg_pool2d"})
    for (tag t : {tag::nchw, tag::nhwc, tag::nChw8c, tag::nChw16c}) {
      CAPTURE(op);
      CAPTURE(int(t));
      Planned p = plan(op, Attributes("pool"), {4, 24, 24}, 32, t);
      CHECK(p.input == layout({32, 4, 24, 24}, t));
      CHECK(p.output == layout({32, 4, 12, 12}, t));
      const std::string own = op == "max_pool2d" ? "graphrun:max_pool" : "graphrun:avg_pool";
      CHECK(p.impls == std::vector<std::string>{own, own});
    }
}
