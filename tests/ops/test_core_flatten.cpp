#include <doctest/doctest.h>
#include <graphrun/harness.hpp>

#include "plugins.hpp"

using namespace graphrun;

TEST_CASE("flatten: [2, 3, 4] becomes [24] in row-major order, both ways") {
  NodeHarness::Options o;
  o.batch = 2;
  NodeHarness h(testing::registry(), "flatten", Attributes("f"), {{2, 3, 4}}, o);
  CHECK(h.output_shape() == Shape{24});
  std::vector<float> x(48), g(48);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(i), g[i] = float(100 + i);
  h.set_input(0, x);
  h.forward();
  CHECK(h.output() == x);
  h.backward(g);
  CHECK(h.input_grad(0) == g);
}

TEST_CASE("flatten: gradients match finite differences, also from a blocked input") {
  NodeHarness h(testing::registry(), "flatten", Attributes("f"), {{2, 3, 4}}, {});
  auto r = h.check_gradients(1e-3, 60);
  INFO(r.worst);
  CHECK(r.checked == 60u);
  CHECK(r.max_error < 1e-3);

  // A blocked producer: the node asks for plain, so the values still come out row-major.
  NodeHarness::Options o;
  o.input_layouts = {dnnl::memory::desc({3, 3, 2, 2}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::nChw16c)};
  NodeHarness b(testing::registry(), "flatten", Attributes("f"), {{3, 2, 2}}, o);
  b.forward();
  CHECK(b.output() == b.input(0));
}
