#include <doctest/doctest.h>
#include <graphrun/error.hpp>
#include <graphrun/harness.hpp>

#include "plugins.hpp"

using namespace graphrun;

TEST_CASE("input: output shape is the declared per-sample shape") {
  Attributes a("x");
  a.set("shape", Attributes::Value{{"1", "28", "28"}, true, ""});
  NodeHarness h(testing::registry(), "input", a, {}, {});
  CHECK(h.output_shape() == Shape{1, 28, 28});
  CHECK(h.output().size() == 3u * 28 * 28);
}

TEST_CASE("input: a missing shape is a clear error") {
  Attributes a("x");
  CHECK_THROWS_WITH_AS(NodeHarness(testing::registry(), "input", a, {}, {}),
                       doctest::Contains("attribute 'shape' is required"), Error);
}
