#include "io/checkpoint.hpp"

#include <graphrun/error.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fcntl.h>
#include <unistd.h>

namespace graphrun {

namespace {

bool write_all(int fd, const void* data, size_t bytes) {
  const char* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t n = ::write(fd, p, bytes);
    if (n < 0 && errno == EINTR) continue;  // a signal (SIGINT while saving) interrupts nothing
    if (n == 0) errno = ENOSPC;
    if (n <= 0) return false;
    p += n;
    bytes -= size_t(n);
  }
  return true;
}

// The rename itself is durable only once the folder's entry is on disk.
void sync_folder(const std::string& path) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort: the file itself is complete
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

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
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(path + ": cannot write the checkpoint (is the folder writable?)");
  bool ok = write_all(fd, len, 8) && write_all(fd, text.data(), text.size());
  for (const auto& [name, t] : ckpt.tensors) ok = ok && write_all(fd, t.values.data(), t.values.size() * sizeof(float));
  // On disk before the rename: after a power cut the name holds the old file or the new one, whole.
  ok = ok && ::fsync(fd) == 0;
  const int err = ok ? 0 : (errno ? errno : EIO);
  ok = ::close(fd) == 0 && ok;
  if (!ok) {
    const std::string why = std::strerror(err ? err : errno);
    ::unlink(tmp.c_str());
    throw Error(path + ": writing the checkpoint failed (" + why + "; disk full?)");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw Error(path + ": cannot write the checkpoint: renaming " + tmp + " onto it failed (" + ec.message() + ")");
  sync_folder(path);
}

namespace {

// A tensor's place in the data part, for the contiguity check.
struct Extent {
  uint64_t begin, end;
  std::string name;
};

// Reads the 8-byte length and the JSON header; checks the file is a regular, large enough file.
nlohmann::json read_header(std::ifstream& f, const std::string& path, uint64_t& header_bytes, uint64_t& file_size) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (st.type() == fs::file_type::not_found) throw Error(path + ": cannot open the checkpoint: no such file");
  if (ec) throw Error(path + ": cannot open the checkpoint: " + ec.message());
  if (fs::is_directory(st)) throw Error(path + ": is a folder; expected a checkpoint file (.safetensors)");
  if (!fs::is_regular_file(st)) throw Error(path + ": is not a regular file; expected a checkpoint file (.safetensors)");
  file_size = fs::file_size(path, ec);
  if (ec) throw Error(path + ": cannot read the checkpoint (" + ec.message() + ")");
  f.open(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot open the checkpoint");
  auto bad = [&](const std::string& what) { return Error(path + ": not a valid checkpoint: " + what); };
  if (file_size == 0) throw bad("the file is empty");
  if (file_size < 8) throw bad("the file is only " + std::to_string(file_size) + " bytes (a checkpoint starts with an 8-byte header length)");
  unsigned char len[8];
  f.read(reinterpret_cast<char*>(len), 8);
  if (!f) throw bad("could not read the header length");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t(len[i]) << (8 * i);
  constexpr uint64_t kMaxHeader = 100 << 20;  // safetensors' own limit
  if (n == 0 || n > file_size - 8 || n > kMaxHeader)
    throw bad("header length " + std::to_string(n) + " does not fit a file of " + std::to_string(file_size) + " bytes");
  std::string text(n, '\0');
  f.read(text.data(), std::streamsize(n));
  if (!f) throw bad("could not read the " + std::to_string(n) + "-byte header");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw bad(std::string("the header is not JSON (") + e.what() + ")");
  }
  if (!header.is_object()) throw bad("the header is not a JSON object");
  header_bytes = n;
  return header;
}

// safetensors requires the tensors to cover the data part exactly: no overlap, no gap.
void check_contiguous(std::vector<Extent> extents, uint64_t data_size, const std::string& path) {
  auto bad = [&](const std::string& what) { return Error(path + ": not a valid checkpoint: " + what); };
  std::sort(extents.begin(), extents.end(), [](const Extent& a, const Extent& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t at = 0;
  const Extent* prev = nullptr;
  for (const Extent& e : extents) {
    if (e.begin < at)
      throw bad("tensor '" + e.name + "' (bytes " + std::to_string(e.begin) + "-" + std::to_string(e.end) + ") overlaps tensor '" +
                prev->name + "' (bytes " + std::to_string(prev->begin) + "-" + std::to_string(prev->end) + ")");
    if (e.begin > at)
      throw bad("tensor '" + e.name + "' starts at byte " + std::to_string(e.begin) + " but " +
                (prev ? "tensor '" + prev->name + "' ends" : std::string("the data starts")) + " at byte " + std::to_string(at) +
                " (expected contiguous tensors, no gaps)");
    at = e.end;
    prev = &e;
  }
  if (at != data_size)
    throw bad(std::to_string(data_size - at) + " bytes after the last tensor belong to no tensor (expected " +
              std::to_string(at) + " bytes of data, found " + std::to_string(data_size) + ")");
}

// graphrun's own counters in __metadata__, read back with std::stoll by load_weights.
void check_metadata(const std::map<std::string, std::string>& metadata, const std::string& path) {
  for (const char* key : {"step", "optimizer_iterations"}) {
    auto it = metadata.find(key);
    if (it == metadata.end()) continue;
    const std::string& v = it->second;
    const bool digits = !v.empty() && v.size() < 19 && std::all_of(v.begin(), v.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    if (!digits)
      throw Error(path + ": not a valid checkpoint: __metadata__ '" + key + "' must be a non-negative integer, got '" + v + "'");
  }
}

}  // namespace

Checkpoint read_checkpoint(const std::string& path) {
  std::ifstream f;
  uint64_t n = 0, file_size = 0;
  const nlohmann::json header = read_header(f, path, n, file_size);
  auto bad = [&](const std::string& what) { return Error(path + ": not a valid checkpoint: " + what); };
  const uint64_t data_size = file_size - 8 - n;
  std::vector<char> data(data_size);
  f.read(data.data(), std::streamsize(data_size));
  if (!f) throw bad("could not read the " + std::to_string(data_size) + " bytes of tensor data");

  Checkpoint ckpt;
  std::vector<Extent> extents;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) throw bad("__metadata__ is not an object");
      for (const auto& [k, v] : entry.items())
        ckpt.metadata[k] = v.is_string() ? v.get<std::string>() : v.dump();
      continue;
    }
    const std::string tensor = "tensor '" + name + "'";
    try {
      const std::string dtype = entry.at("dtype").get<std::string>();
      if (dtype != "F32") throw bad(tensor + " has dtype " + dtype + " (only F32 is supported)");
      // nlohmann's get<> would take 2.5 as 2 and true as 1, and converting 1e300 is undefined.
      for (const char* key : {"shape", "data_offsets"}) {
        const nlohmann::json& v = entry.at(key);
        if (!v.is_array() || !std::all_of(v.begin(), v.end(), [](const nlohmann::json& x) { return x.is_number_integer(); }))
          throw bad(tensor + " has " + key + " " + v.dump() + " (expected a list of whole numbers)");
      }
      StoredTensor t;
      t.shape = entry.at("shape").get<std::vector<int64_t>>();
      auto offsets = entry.at("data_offsets").get<std::vector<uint64_t>>();
      uint64_t count = 1;
      for (auto d : t.shape) {
        if (d < 0) throw bad(tensor + " has a negative dimension in shape " + entry.at("shape").dump());
        if (d != 0 && count > data_size / uint64_t(d)) count = data_size + 1;  // more than the file holds; no overflow
        else count *= uint64_t(d);
      }
      if (offsets.size() != 2 || offsets[0] > offsets[1] || offsets[1] > data_size)
        throw bad(tensor + " has data offsets " + entry.at("data_offsets").dump() + " outside the file (" + std::to_string(data_size) +
                  " bytes of data; expected [begin, end] with begin <= end; truncated?)");
      if (count > data_size || offsets[1] - offsets[0] != count * sizeof(float))
        throw bad(tensor + " has shape " + entry.at("shape").dump() + " (" + (count > data_size ? "more than the file holds" : std::to_string(count * sizeof(float)) + " bytes") +
                  ") but its data offsets span " + std::to_string(offsets[1] - offsets[0]) + " bytes");
      t.values.resize(count);
      if (count) std::memcpy(t.values.data(), data.data() + offsets[0], count * sizeof(float));  // an empty vector has no data()
      for (size_t i = 0; i < t.values.size(); ++i)
        if (!std::isfinite(t.values[i]))
          throw bad(tensor + " holds " + (std::isnan(t.values[i]) ? "NaN" : "an infinite value") + " at element " +
                    std::to_string(i) + " (expected finite numbers; was it saved from a diverged run?)");
      extents.push_back({offsets[0], offsets[1], name});
      ckpt.tensors[name] = std::move(t);
    } catch (const nlohmann::json::exception& e) {
      throw bad(tensor + " has a malformed entry (" + e.what() + ")");
    }
  }
  check_contiguous(std::move(extents), data_size, path);
  check_metadata(ckpt.metadata, path);
  return ckpt;
}

}  // namespace graphrun
