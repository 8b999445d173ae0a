// Graphs too large for the machine, and YAML shapes the walk over the tree must survive.
#include <doctest/doctest.h>
#include <graphrun/error.hpp>

#include "exec/memory_check.hpp"
#include "exec/plan.hpp"
#include "graph/model.hpp"
#include "plugins.hpp"

using namespace graphrun;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// No parameters at all, but each concat doubles the activations: c30 is 784 x 2^30 floats per example.
std::string concat_chain(int n) {
  std::string text = "name: wide\ninputs:\n  left: {shape: [784]}\nnodes:\n  c1: {op: concat, inputs: [left, left]}\n";
  for (int i = 2; i <= n; ++i)
    text += "  c" + std::to_string(i) + ": {op: concat, inputs: [c" + std::to_string(i - 1) + ", c" + std::to_string(i - 1) + "]}\n";
  return text + "output: c" + std::to_string(n) + "\n";
}

}  // namespace

TEST_CASE("size checks: the machine's memory is known") { CHECK(machine_memory_bytes() > (64u << 20)); }

TEST_CASE("size checks: a plan whose activations exceed the machine's memory names the largest node") {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  Model small(parse_graph_spec(concat_chain(3), "wide.yaml"), testing::registry(), eng);
  CHECK(error_of([&] { Plan p(small, 2); }) == "(no error)");
  Model wide(parse_graph_spec(concat_chain(30), "wide.yaml"), testing::registry(), eng);
  const std::string msg = error_of([&] { Plan p(wide, 4); });
  CAPTURE(msg);
  CHECK(msg.find("wide.yaml:34:8: a batch of 4 needs ") == 0);
  CHECK(msg.find("GB of activations, more than the ") != std::string::npos);
  CHECK(msg.find("the largest is node 'c30' (concat) with [841813590016] per example") != std::string::npos);
}

TEST_CASE("size checks: parameters beyond the machine's memory are refused before allocation") {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  const std::string text = "name: big\ninputs:\n  x: {shape: [784]}\nnodes:\n  d: {op: dense, units: 100000000000, input: x}\noutput: d\n";
  const std::string msg = error_of([&] { Model m(parse_graph_spec(text, "big.yaml"), testing::registry(), eng); });
  CAPTURE(msg);
  CHECK(msg.find("big.yaml:5:6: node 'd' (dense): the parameters need ") == 0);
  CHECK(msg.find("the largest is 'd/kernel' [100000000000, 784]") != std::string::npos);
}

TEST_CASE("size checks: recursive aliases and non-name keys end with a message, not a hang") {
  CHECK(error_of([] { parse_graph_spec("name: &a [*a]\n", "g.yaml"); }).find("g.yaml:1:7: the YAML nests more than 64 levels") == 0);
  CHECK(error_of([] { parse_graph_spec("name: &a {k: *a}\n", "g.yaml"); }).find("nests more than 64 levels") != std::string::npos);
  CHECK(error_of([] { parse_graph_spec("? [a, b]\n: 1\n", "g.yaml"); }).find("g.yaml:1:3: a map key must be a plain name") == 0);
  // Aliases repeating aliases: a short text standing for 10^8 values.
  std::string laughs = "a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n";
  for (int i = 1; i < 9; ++i) {
    laughs += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) laughs += (k ? ", *a" : "*a") + std::to_string(i - 1);
    laughs += "]\n";
  }
  CHECK(error_of([&] { parse_graph_spec(laughs, "g.yaml"); }).find("g.yaml: the YAML holds too many values") == 0);
}
