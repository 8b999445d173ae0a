#pragma once
// Checkpoints in the safetensors layout: an 8-byte little-endian header length, a JSON
// header with each tensor's dtype, shape and byte offsets (plus "__metadata__"), then the
// raw little-endian data. Readable from numpy or PyTorch in a few lines.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace graphrun {

struct StoredTensor {
  std::vector<int64_t> shape;
  std::vector<float> values;
};

struct Checkpoint {
  std::map<std::string, StoredTensor> tensors;
  std::map<std::string, std::string> metadata;
};

// Written to a temporary file, fsynced (file, then folder) and renamed, so neither a crash
// nor a power cut leaves half a checkpoint under `path`.
void write_checkpoint(const std::string& path, const Checkpoint& ckpt);
// Checks every offset, dtype and shape; a damaged file throws Error naming what is wrong.
Checkpoint read_checkpoint(const std::string& path);

}  // namespace graphrun
