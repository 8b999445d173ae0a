#pragma once
// Shared by the libFuzzer targets: one temporary folder per fuzzer process (removed at exit)
// and writing an input into it, for readers that take a path.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace graphrun::fuzz {

inline const std::filesystem::path& temp_dir() {
  static const std::filesystem::path dir = [] {
    std::string pattern = (std::filesystem::temp_directory_path() / "graphrun_fuzz_XXXXXX").string();
    if (!::mkdtemp(pattern.data())) std::abort();
    static const std::string removed = pattern;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(removed, ec);
    });
    return std::filesystem::path(pattern);
  }();
  return dir;
}

// Writes n bytes to temp_dir()/name (replacing it) and returns the path.
inline std::string write_file(const std::string& name, const uint8_t* data, size_t n) {
  const std::string path = (temp_dir() / name).string();
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(data), std::streamsize(n));
  f.close();
  if (!f) std::abort();
  return path;
}

}  // namespace graphrun::fuzz
