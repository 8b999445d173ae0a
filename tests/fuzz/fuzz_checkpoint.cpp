// The checkpoint (safetensors) reader: the input is the whole file.
#include <graphrun/error.hpp>

#include "fuzz_support.hpp"
#include "io/checkpoint.hpp"

#include <cmath>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = graphrun::fuzz::write_file("weights.safetensors", data, size);
  try {
    const graphrun::Checkpoint ckpt = graphrun::read_checkpoint(path);
    // What load_weights relies on after a successful read: shapes match the values, all finite.
    for (const auto& [name, t] : ckpt.tensors) {
      uint64_t count = 1;
      for (int64_t d : t.shape) {
        if (d < 0) __builtin_trap();
        count *= uint64_t(d);
      }
      if (count != t.values.size()) __builtin_trap();
      for (float v : t.values)
        if (!std::isfinite(v)) __builtin_trap();
    }
  } catch (const graphrun::Error&) {
  }
  return 0;
}
