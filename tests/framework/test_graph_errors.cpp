// Every class of bad graph gets one clear message naming where and what.
#include <doctest/doctest.h>
#include <graphrun/error.hpp>

#include "graph/model.hpp"
#include "plugins.hpp"

using namespace graphrun;

namespace {

const char* kHead = R"(name: t
inputs:
  left:  {shape: [4]}
  right: {shape: [4]}
  same:  {shape: [1], feed: label}
)";

void build(const std::string& text) {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  Model m(parse_graph_spec(text, "g.yaml"), testing::registry(), eng);
}

std::string error_of(const std::string& text) {
  try {
    build(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("graph errors: malformed YAML names line and column") {
  std::string msg = error_of(std::string(kHead) + "nodes:\n  a: {op: dense, units: [1, 2}\noutput: a\n");
  CAPTURE(msg);
  CHECK(msg.find("g.yaml:7:") == 0);
  CHECK(msg.find("malformed YAML") != std::string::npos);
}

TEST_CASE("graph errors: unknown op lists the nearest known name") {
  std::string msg = error_of(std::string(kHead) + "nodes:\n  a: {op: dense_layer, units: 2, input: left}\noutput: a\n");
  CAPTURE(msg);
  CHECK(msg.find("g.yaml:7:6") == 0);
  CHECK(msg.find("unknown op 'dense_layer'") != std::string::npos);
  CHECK(msg.find("did you mean 'dense'") != std::string::npos);
}

TEST_CASE("graph errors: an unknown attribute lists the op's attributes") {
  std::string msg = error_of(std::string(kHead) + "nodes:\n  a: {op: dense, unit: 2, input: left}\noutput: a\n");
  CAPTURE(msg);
  CHECK(msg.find("unknown attribute 'unit'") != std::string::npos);
  CHECK(msg.find("units") != std::string::npos);
}

TEST_CASE("graph errors: a missing input is named with the known names") {
  std::string msg = error_of(std::string(kHead) + "nodes:\n  a: {op: dense, units: 2, input: lft}\noutput: a\n");
  CAPTURE(msg);
  CHECK(msg.find("node 'a': input 'lft' does not exist") != std::string::npos);
  CHECK(msg.find("left") != std::string::npos);
}

TEST_CASE("graph errors: a cycle names the nodes on it") {
  std::string msg = error_of(std::string(kHead) +
                             "nodes:\n  a: {op: subtract, inputs: [left, c]}\n  b: {op: subtract, inputs: [a, right]}\n"
                             "  c: {op: subtract, inputs: [b, right]}\n  d: {op: subtract, inputs: [left, right]}\noutput: d\n");
  CAPTURE(msg);
  CHECK(msg.find("cycle") != std::string::npos);
  CHECK(msg.find("a -> b -> c -> a") != std::string::npos);
}

TEST_CASE("graph errors: a shape mismatch names both nodes and both shapes") {
  std::string msg = error_of(std::string(kHead) +
                             "nodes:\n  a: {op: dense, units: 3, input: left}\n  b: {op: dense, units: 5, input: right}\n"
                             "  d: {op: subtract, inputs: [a, b]}\noutput: d\n");
  CAPTURE(msg);
  CHECK(msg.find("node 'd' (subtract)") != std::string::npos);
  CHECK(msg.find("a [3]") != std::string::npos);
  CHECK(msg.find("b [5]") != std::string::npos);
}

TEST_CASE("graph errors: a tower that is not defined") {
  std::string msg = error_of(std::string(kHead) + "nodes:\n  a: {tower: enc, input: left}\noutput: a\n");
  CAPTURE(msg);
  CHECK(msg.find("uses tower 'enc', which is not defined") != std::string::npos);
}

TEST_CASE("graph errors: a missing required key and a wrong type give positions") {
  std::string msg = error_of("name: t\ninputs:\n  x: {shape: [a]}\nnodes:\n  a: {op: flatten, input: x}\noutput: a\n");
  CAPTURE(msg);
  CHECK(msg.find("g.yaml:3:") == 0);
  CHECK(msg.find("positive integers") != std::string::npos);
  msg = error_of("name: t\ninputs:\n  x: {shape: [4]}\nnodes:\n  a: {op: flatten, input: x}\n");
  CAPTURE(msg);
  CHECK(msg.find("missing 'output'") != std::string::npos);
}

TEST_CASE("graph errors: an unknown initializer is refused") {
  std::string msg = error_of(std::string(kHead) + "nodes:\n  a: {op: dense, units: 2, kernel_initializer: glorot, input: left}\noutput: a\n");
  CAPTURE(msg);
  CHECK(msg.find("unknown initializer 'glorot'") != std::string::npos);
}

TEST_CASE("graph errors: a loss reading [label, prediction] is refused as swapped") {
  const std::string body = R"(nodes:
  d: {op: euclidean_distance, inputs: [left, right]}
  p: {op: dense, units: 1, activation: sigmoid, input: d}
  loss: {op: LOSS, inputs: [INPUTS]}
output: p
loss: loss
)";
  for (const std::string loss : {"binary_crossentropy", "contrastive_loss"}) {
    std::string swapped = body, right = body;
    swapped.replace(swapped.find("LOSS"), 4, loss).replace(swapped.find("INPUTS"), 6, "same, p");
    right.replace(right.find("LOSS"), 4, loss).replace(right.find("INPUTS"), 6, "p, same");
    const std::string msg = error_of(std::string(kHead) + swapped);
    CAPTURE(msg);
    CHECK(msg.find("g.yaml:") == 0);
    CHECK(msg.find("inputs look swapped") != std::string::npos);
    CHECK(msg.find("[p, same]") != std::string::npos);
    CHECK(error_of(std::string(kHead) + right) == "(no error)");
  }
}
