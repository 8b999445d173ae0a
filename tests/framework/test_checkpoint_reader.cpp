// Damaged checkpoints: each refused with a message naming the file and the tensor.
#include <doctest/doctest.h>
#include <graphrun/error.hpp>

#include "../data/idx_files.hpp"
#include "io/checkpoint.hpp"

#include <cmath>
#include <cstring>
#include <limits>

using namespace graphrun;

namespace {

// An 8-byte little-endian length, the header as given, then the data bytes.
std::string write_raw_checkpoint(const testing::TempDir& dir, const std::string& name, const std::string& header,
                                 const std::vector<float>& data, uint64_t length = 0) {
  std::string bytes;
  const uint64_t n = length ? length : header.size();
  for (int i = 0; i < 8; ++i) bytes += char((n >> (8 * i)) & 0xff);
  bytes += header;
  bytes.append(reinterpret_cast<const char*>(data.data()), data.size() * sizeof(float));
  const std::string path = dir.file(name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string error_of(const std::string& path) {
  try {
    read_checkpoint(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// Two F32 tensors "a" and "b" of two values each, with the given offsets.
std::string two(const std::string& a, const std::string& b, const std::string& dtype = "F32", const std::string& shape_b = "[2]") {
  return R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": )" + a + R"(}, "b": {"dtype": ")" + dtype +
         R"(", "shape": )" + shape_b + R"(, "data_offsets": )" + b + "}}";
}

void check_refused(const std::string& path, const std::string& part) {
  const std::string msg = error_of(path);
  CAPTURE(msg);
  CHECK(msg.rfind(path + ": ", 0) == 0);
  CHECK(msg.find(part) != std::string::npos);
}

}  // namespace

TEST_CASE("checkpoint reader: a well-formed file reads back (so the cases below can fail)") {
  testing::TempDir dir;
  Checkpoint c;
  c.tensors["a"] = {{2}, {1.f, 2.f}};
  c.tensors["b"] = {{1, 2}, {3.f, 4.f}};
  c.metadata = {{"graph", "g"}, {"step", "7"}};
  write_checkpoint(dir.file("ok.safetensors"), c);
  const Checkpoint r = read_checkpoint(dir.file("ok.safetensors"));
  CHECK(r.tensors.at("b").values == std::vector<float>{3.f, 4.f});
  CHECK(r.metadata.at("graph") == "g");
  CHECK(error_of(write_raw_checkpoint(dir, "hand.st", two("[0, 8]", "[8, 16]"), {1, 2, 3, 4})) == "(no error)");
}

TEST_CASE("checkpoint reader: folder, empty file, short file, header length") {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.file("folder"));
  check_refused(dir.file("folder"), "is a folder; expected a checkpoint file");
  std::ofstream(dir.file("empty")).flush();
  check_refused(dir.file("empty"), "the file is empty");
  std::ofstream(dir.file("short")) << "abcde";
  check_refused(dir.file("short"), "the file is only 5 bytes");
  check_refused(write_raw_checkpoint(dir, "long", two("[0, 8]", "[8, 16]"), {1, 2, 3, 4}, 1000),
                "header length 1000 does not fit a file of");
  check_refused(write_raw_checkpoint(dir, "zero", two("[0, 8]", "[8, 16]"), {1, 2, 3, 4}, 0xffffffffffffull),
                "header length 281474976710655 does not fit");
  check_refused(write_raw_checkpoint(dir, "notjson", "{not json", {}), "the header is not JSON");
  check_refused(dir.file("missing"), "no such file");
}

TEST_CASE("checkpoint reader: overlapping, out-of-range, gapped and reversed offsets") {
  testing::TempDir dir;
  check_refused(write_raw_checkpoint(dir, "overlap", two("[0, 8]", "[4, 12]"), {1, 2, 3}),
                "tensor 'b' (bytes 4-12) overlaps tensor 'a' (bytes 0-8)");
  check_refused(write_raw_checkpoint(dir, "range", two("[0, 8]", "[8, 24]"), {1, 2, 3, 4}), "tensor 'b' has data offsets [8,24] outside");
  check_refused(write_raw_checkpoint(dir, "reversed", two("[0, 8]", "[16, 8]"), {1, 2, 3, 4}), "tensor 'b' has data offsets [16,8]");
  check_refused(write_raw_checkpoint(dir, "gap", two("[0, 8]", "[12, 20]"), {1, 2, 3, 4, 5}),
                "tensor 'b' starts at byte 12 but tensor 'a' ends at byte 8 (expected contiguous tensors, no gaps)");
  check_refused(write_raw_checkpoint(dir, "first", two("[4, 12]", "[12, 20]"), {1, 2, 3, 4, 5}),
                "tensor 'a' starts at byte 4 but the data starts at byte 0");
  check_refused(write_raw_checkpoint(dir, "tail", two("[0, 8]", "[8, 16]"), {1, 2, 3, 4, 5}), "4 bytes after the last tensor belong to no tensor");
  // Out of order in the header (b before a in the data) is fine: only the bytes must be covered once.
  CHECK(error_of(write_raw_checkpoint(dir, "swapped", two("[8, 16]", "[0, 8]"), {1, 2, 3, 4})) == "(no error)");
}

TEST_CASE("checkpoint reader: dtype, shape against byte range, malformed entries") {
  testing::TempDir dir;
  check_refused(write_raw_checkpoint(dir, "dtype", two("[0, 8]", "[8, 16]", "F16"), {1, 2, 3, 4}), "tensor 'b' has dtype F16 (only F32");
  check_refused(write_raw_checkpoint(dir, "shape", two("[0, 8]", "[8, 16]", "F32", "[3]"), {1, 2, 3, 4}),
                "tensor 'b' has shape [3] (12 bytes) but its data offsets span 8 bytes");
  check_refused(write_raw_checkpoint(dir, "huge", two("[0, 8]", "[8, 16]", "F32", "[4611686018427387904, 4611686018427387904]"), {1, 2, 3, 4}),
                "tensor 'b' has shape [4611686018427387904,4611686018427387904] (more than the file holds)");
  check_refused(write_raw_checkpoint(dir, "negative", two("[0, 8]", "[8, 16]", "F32", "[-2]"), {1, 2, 3, 4}), "tensor 'b' has a negative dimension");
  check_refused(write_raw_checkpoint(dir, "entry", R"({"a": {"dtype": "F32"}})", {}), "tensor 'a' has a malformed entry");
  check_refused(write_raw_checkpoint(dir, "meta", R"({"__metadata__": {"step": "x1"}})", {}), "__metadata__ 'step' must be a non-negative integer, got 'x1'");
}

TEST_CASE("checkpoint reader: NaN and infinite values name the tensor and element") {
  testing::TempDir dir;
  check_refused(write_raw_checkpoint(dir, "nan", two("[0, 8]", "[8, 16]"), {1, 2, 3, std::nanf("")}), "tensor 'b' holds NaN at element 1");
  check_refused(write_raw_checkpoint(dir, "inf", two("[0, 8]", "[8, 16]"), {-std::numeric_limits<float>::infinity(), 2, 3, 4}),
                "tensor 'a' holds an infinite value at element 0");
}
