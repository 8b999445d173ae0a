#pragma once
// Running the graphrun binary from a test: its exit code and everything it printed.
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/wait.h>

namespace graphrun::testing {

struct CliResult {
  int code;  // -1 when the process did not exit normally (a signal)
  std::string output;
};

inline CliResult run_cli(const std::string& args, const std::string& env = "") {
  std::string cmd = env + " " + std::string(GRAPHRUN_CLI) + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), pipe)) out.append(buf.data(), n);
  int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// Writes `text` to a file named graphrun_cli_<name> in the temporary folder.
inline std::string write_temp(const std::string& name, const std::string& text) {
  auto path = std::filesystem::temp_directory_path() / ("graphrun_cli_" + name);
  std::ofstream(path) << text;
  return path.string();
}

}  // namespace graphrun::testing
