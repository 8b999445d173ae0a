// What fuzzing the graph loader and the checkpoint reader found (tests/fuzz, tools/fuzz.sh):
// each input that crashed, tripped a sanitizer, threw something other than Error or took
// too long, kept as a case here (and as a file of the fuzzers' seed corpora).
#include <doctest/doctest.h>
#include <graphrun/error.hpp>

#include "../data/idx_files.hpp"
#include "graph/spec.hpp"
#include "io/checkpoint.hpp"

#include <fstream>
#include <functional>

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

// A graph whose training split selects `classes`.
std::string with_classes(const std::string& classes) {
  return "name: g\ninputs: {x: {shape: [1]}}\nnodes: {n: {op: dense, input: x}}\noutput: n\n"
         "data:\n  format: images\n  path: x\n  train: {classes: " + classes + "}\n";
}

// An 8-byte little-endian length, the header, then the data bytes.
std::string raw_checkpoint(const testing::TempDir& dir, const std::string& name, const std::string& header, size_t data_bytes) {
  std::string bytes;
  for (int i = 0; i < 8; ++i) bytes += char((header.size() >> (8 * i)) & 0xff);
  bytes += header + std::string(data_bytes, '\0');
  const std::string path = dir.file(name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

}  // namespace

TEST_CASE("fuzz findings: a tower map without 'layers' and a scalar split are refused with their position") {
  // Was: YAML::InvalidNode (Node::reset of the missing 'layers') and YAML::BadSubscript
  // (operator[] on the scalar), out of parse_graph_spec.
  CHECK(error_of([] {
          parse_graph_spec("name: g\ninputs: {x: {shape: [1]}}\ntowers:\n  t: {}\nnodes: {n: {op: dense, input: x}}\noutput: n\n",
                           "g.yaml");
        }) == "g.yaml:4:3: tower 't' must be a non-empty list of layers");
  CHECK(error_of([] {
          parse_graph_spec("name: g\ninputs: {x: {shape: [1]}}\nnodes: {n: {op: dense, input: x}}\noutput: n\n"
                           "data: {format: idx, path: x, train: 5}\n",
                           "g.yaml");
        }) == "g.yaml:5:37: data.train must be a map");
}

TEST_CASE("fuzz findings: a class list holding a map is refused with its position, not a yaml-cpp exception") {
  // Was: YAML::TypedBadConversion out of parse_graph_spec (the CLI's last-resort message).
  const std::string msg = error_of([] { parse_graph_spec(with_classes("[s1, {a: 1}]"), "g.yaml"); });
  CAPTURE(msg);
  CHECK(msg.find("g.yaml:8:25: data.train: 'classes' lists class names") == 0);
  CHECK(parse_graph_spec(with_classes("[s1, s2]"), "g.yaml").data.train.classes.names == std::vector<std::string>{"s1", "s2"});
}

TEST_CASE("fuzz findings: a class range beyond int64 or NaN is refused") {
  // Was: converting 1e300 or NaN to int64_t, undefined behaviour (UBSan: float-cast-overflow).
  for (const char* range : {"[0, 1e300]", "[.nan, .nan]", "[0, .nan]", "[.nan, 3]", "[-.inf, 2]"}) {
    CAPTURE(range);
    CHECK(error_of([&] { parse_graph_spec(with_classes(std::string("{range: ") + range + "}"), "g.yaml"); })
              .find("g.yaml:8:28: data.train.classes: 'range' must be [begin, end)") == 0);
  }
  const GraphSpec g = parse_graph_spec(with_classes("{range: [2, 7]}"), "g.yaml");
  CHECK(g.data.train.classes.begin == 2);
  CHECK(g.data.train.classes.end == 7);
}

TEST_CASE("fuzz findings: aliases of aliases are refused after a walk as long as the text") {
  // Was: a fixed budget of 4 million visits, 27 s (lists) and 81 s (maps) in the sanitizer build.
  std::string laughs = "m0: &m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9, j: 10}\n";
  for (int i = 1; i < 9; ++i) {
    laughs += "m" + std::to_string(i) + ": &m" + std::to_string(i) + " {";
    for (int k = 0; k < 10; ++k) laughs += (k ? ", k" : "k") + std::to_string(k) + ": *m" + std::to_string(i - 1);
    laughs += "}\n";
  }
  CHECK(error_of([&] { parse_graph_spec(laughs, "g.yaml"); }) ==
        "g.yaml: the YAML holds too many values for the length of its text (aliases repeating aliases?)");
  // An alias used the ordinary way still reads: one list of layers for two towers.
  const GraphSpec g = parse_graph_spec(
      "name: g\ninputs: {x: {shape: [4]}}\n"
      "towers:\n  a: &layers [{op: dense, units: 3}, {op: dense, units: 2}]\n  b: *layers\n"
      "nodes: {p: {tower: a, input: x}, q: {tower: b, input: x}}\noutput: p\n",
      "g.yaml");
  CHECK(g.towers.at("b").layers.size() == 2);
}

TEST_CASE("fuzz findings: a checkpoint tensor with no elements reads back empty") {
  // Was: memcpy into the empty vector's null data() (UBSan: null pointer passed as argument 1).
  testing::TempDir dir;
  Checkpoint ckpt;
  ckpt.tensors["e"] = {{0, 4}, {}};
  ckpt.tensors["s"] = {{}, {3.0f}};
  write_checkpoint(dir.file("w.safetensors"), ckpt);
  const Checkpoint back = read_checkpoint(dir.file("w.safetensors"));
  CHECK(back.tensors.at("e").shape == std::vector<int64_t>{0, 4});
  CHECK(back.tensors.at("e").values.empty());
  CHECK(back.tensors.at("s").values == std::vector<float>{3.0f});
}

TEST_CASE("fuzz findings: checkpoint shapes and offsets must be whole numbers") {
  // Was: 1e300 converted to int64_t / uint64_t by nlohmann's get<> (undefined behaviour), and
  // true or 2.5 taken as 1 or 2.
  testing::TempDir dir;
  const struct {
    const char *shape, *offsets, *shown;
  } cases[] = {{"[1e300]", "[0, 4]", "shape [1e+300]"},
               {"[1]", "[0, 4e300]", "data_offsets [0,4e+300]"},
               {"[true]", "[0, 4]", "shape [true]"},
               {"[1]", "[false, 4]", "data_offsets [false,4]"},
               {"[1.0]", "[0, 4]", "shape [1.0]"},
               {"[1]", "[0.0, 4]", "data_offsets [0.0,4]"},
               {"1", "[0, 4]", "shape 1"}};
  for (const auto& c : cases) {
    const std::string path = raw_checkpoint(
        dir, "c", std::string(R"({"a": {"dtype": "F32", "shape": )") + c.shape + R"(, "data_offsets": )" + c.offsets + "}}", 4);
    const std::string msg = error_of([&] { read_checkpoint(path); });
    CAPTURE(msg);
    CHECK(msg == path + ": not a valid checkpoint: tensor 'a' has " + c.shown + " (expected a list of whole numbers)");
  }
}
