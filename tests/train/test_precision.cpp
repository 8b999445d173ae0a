// train.precision: parsed with its position, bf16 accepted where the CPU has bf16
// arithmetic and refused, naming what is missing, where it has not. The flags are passed
// in, so every branch runs on every machine.
#include <doctest/doctest.h>

#include <graphrun/error.hpp>

#include "graph/spec.hpp"
#include "train/precision.hpp"

#include <string>

using namespace graphrun;

namespace {

const char* kGraph = R"(name: p
inputs:
  x: {shape: [4]}
nodes:
  y: {op: dense, units: 2, input: x}
output: y
train:
  epochs: 1
  precision: PRECISION
)";

GraphSpec with_precision(const std::string& p) {
  std::string text = kGraph;
  text.replace(text.find("PRECISION"), 9, p);
  return parse_graph_spec(text, "g.yaml");
}

std::string refusal(const TrainSpec& t, const std::string& flags) {
  try {
    check_precision(t, "g.yaml", flags);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

const std::string kAvx2 = " fpu sse2 avx avx2 fma bmi2 avx512f";  // avx512f alone is no bf16

}  // namespace

TEST_CASE("precision: f32 is the default and trains on any CPU") {
  GraphSpec s = with_precision("f32");
  CHECK(s.train.precision == "f32");
  CHECK(refusal(s.train, "") == "");
  CHECK(refusal(TrainSpec{}, kAvx2) == "");
}

TEST_CASE("precision: anything else than f32 or bf16 is refused at its line") {
  try {
    with_precision("fp16");
    FAIL("fp16 was accepted");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("g.yaml:9:") == 0);
    CHECK(std::string(e.what()).find("precision must be f32 or bf16, got 'fp16'") != std::string::npos);
  }
}

TEST_CASE("precision: bf16 without bf16 arithmetic names the missing features") {
  const GraphSpec s = with_precision("bf16");
  const std::string message = refusal(s.train, kAvx2);
  CAPTURE(message);
  CHECK(message.find("g.yaml:9:") == 0);
  CHECK(message.find("avx512_bf16 or amx_bf16") != std::string::npos);
  CHECK(message.find("use precision: f32") != std::string::npos);
}

TEST_CASE("precision: the bf16 features are read from the flags") {
  CHECK(bf16_features(kAvx2) == "");
  CHECK(bf16_features(kAvx2 + " avx512_bf16") == "avx512_bf16");
  CHECK(bf16_features(" amx_tile amx_bf16 avx512_bf16 amx_int8") == "amx_bf16 avx512_bf16");
}

TEST_CASE("precision: bf16 trains where the CPU has either bf16 feature") {
  const TrainSpec t = with_precision("bf16").train;
  CHECK(refusal(t, kAvx2 + " avx512_bf16") == "");
  CHECK(refusal(t, kAvx2 + " amx_tile amx_bf16") == "");
  CHECK(refusal(t, kAvx2 + " avx512_vnni avx512_fp16") != "");  // neither is bf16 arithmetic
}
