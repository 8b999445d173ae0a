#include "io/checkpoint.hpp"

#include <graphrun/error.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace graphrun {

void write_checkpoint(const std::string& path, const Checkpoint& ckpt) {
  nlohmann::json header = nlohmann::json::object();
  size_t offset = 0;
  for (const auto& [name, t] : ckpt.tensors) {
    const size_t bytes = t.values.size() * sizeof(float);
    header[name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  if (!ckpt.metadata.empty()) header["__metadata__"] = ckpt.metadata;
  std::string text = header.dump();
  while (text.size() % 8) text += ' ';  // keeps the data 8-byte aligned
  const uint64_t n = text.size();
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));

  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw Error(path + ": cannot write the checkpoint (is the folder writable?)");
    f.write(reinterpret_cast<const char*>(len), 8);
    f.write(text.data(), std::streamsize(text.size()));
    for (const auto& [name, t] : ckpt.tensors)
      f.write(reinterpret_cast<const char*>(t.values.data()), std::streamsize(t.values.size() * sizeof(float)));
    f.flush();
    if (!f) throw Error(path + ": writing the checkpoint failed (disk full?)");
  }
  std::filesystem::rename(tmp, path);
}

Checkpoint read_checkpoint(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) throw Error(path + ": cannot open the checkpoint");
  const uint64_t file_size = static_cast<uint64_t>(f.tellg());
  f.seekg(0);
  auto bad = [&](const std::string& what) { return Error(path + ": not a valid checkpoint: " + what); };
  if (file_size < 8) throw bad("the file is only " + std::to_string(file_size) + " bytes");
  unsigned char len[8];
  f.read(reinterpret_cast<char*>(len), 8);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t(len[i]) << (8 * i);
  if (n == 0 || n > file_size - 8) throw bad("header length " + std::to_string(n) + " does not fit a file of " + std::to_string(file_size) + " bytes");
  std::string text(n, '\0');
  f.read(text.data(), std::streamsize(n));
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw bad(std::string("the header is not JSON (") + e.what() + ")");
  }
  if (!header.is_object()) throw bad("the header is not a JSON object");
  const uint64_t data_size = file_size - 8 - n;
  std::vector<char> data(data_size);
  f.read(data.data(), std::streamsize(data_size));
  if (!f) throw bad("could not read the tensor data");

  Checkpoint ckpt;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) throw bad("__metadata__ is not an object");
      for (const auto& [k, v] : entry.items())
        ckpt.metadata[k] = v.is_string() ? v.get<std::string>() : v.dump();
      continue;
    }
    try {
      if (entry.at("dtype").get<std::string>() != "F32")
        throw bad("tensor '" + name + "' has dtype " + entry.at("dtype").get<std::string>() + " (only F32 is supported)");
      StoredTensor t;
      t.shape = entry.at("shape").get<std::vector<int64_t>>();
      auto offsets = entry.at("data_offsets").get<std::vector<uint64_t>>();
      uint64_t count = 1;
      for (auto d : t.shape) {
        if (d < 0) throw bad("tensor '" + name + "' has a negative dimension");
        count *= uint64_t(d);
      }
      if (offsets.size() != 2 || offsets[0] > offsets[1] || offsets[1] > data_size)
        throw bad("tensor '" + name + "' has data offsets outside the file (truncated?)");
      if (offsets[1] - offsets[0] != count * sizeof(float))
        throw bad("tensor '" + name + "' has " + std::to_string(offsets[1] - offsets[0]) + " bytes for " +
                  std::to_string(count) + " floats");
      t.values.resize(count);
      std::memcpy(t.values.data(), data.data() + offsets[0], count * sizeof(float));
      ckpt.tensors[name] = std::move(t);
    } catch (const nlohmann::json::exception& e) {
      throw bad("tensor '" + name + "' has a malformed entry (" + e.what() + ")");
    }
  }
  return ckpt;
}

}  // namespace graphrun
