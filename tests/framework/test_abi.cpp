// The ABI version cannot be forgotten: abi.hpp records a checksum of the SDK headers next
// to GRAPHRUN_ABI_VERSION, and a header change that is not a comment or spacing change
// fails here until both are updated. The checksum covers the version too, so pasting a new
// checksum without bumping the version still fails.
#include <doctest/doctest.h>
#include <graphrun/abi.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

// The code of one header: comments removed (string and character literals kept whole),
// each line trimmed with runs of spaces made one, blank lines and abi.hpp's two records
// dropped.
std::string normalised(const std::string& text) {
  std::string code;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"' || c == '\'') {
      const size_t start = i;
      for (++i; i < text.size() && text[i] != c; ++i)
        if (text[i] == '\\') ++i;
      code.append(text, start, i - start + 1);
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '/') {
      while (i < text.size() && text[i] != '\n') ++i;
      code += '\n';
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
      const size_t end = text.find("*/", i + 2);
      i = end == std::string::npos ? text.size() : end + 1;
      code += ' ';
    } else {
      code += c;
    }
  }
  std::istringstream in(code);
  std::string out;
  for (std::string line; std::getline(in, line);) {
    std::string kept;
    for (char c : line) {
      const bool space = c == ' ' || c == '\t' || c == '\r';
      if (space && (kept.empty() || kept.back() == ' ')) continue;
      kept += space ? ' ' : c;
    }
    while (!kept.empty() && kept.back() == ' ') kept.pop_back();
    if (kept.empty() || kept.rfind("#define GRAPHRUN_ABI_VERSION", 0) == 0 ||
        kept.rfind("#define GRAPHRUN_SDK_HEADERS_CHECKSUM", 0) == 0)
      continue;
    out += kept + "\n";
  }
  return out;
}

// Every header of the SDK folder in name order, each under its file name.
std::string sdk_code() {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(GRAPHRUN_SOURCE_DIR "/framework/include/graphrun"))
    if (e.path().extension() == ".hpp") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::string all;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    all += "== " + f.filename().string() + "\n" + normalised(text.str());
  }
  return all;
}

std::string checksum(int version, const std::string& code) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : "abi " + std::to_string(version) + "\n" + code) h = (h ^ c) * 1099511628211ull;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

}  // namespace

TEST_CASE("abi: the SDK headers match the checksum recorded with GRAPHRUN_ABI_VERSION") {
  const std::string code = sdk_code();
  REQUIRE(code.find("== node.hpp") != std::string::npos);
  const int version = GRAPHRUN_ABI_VERSION;
  const std::string recorded = GRAPHRUN_SDK_HEADERS_CHECKSUM;
  if (checksum(version, code) == recorded) return;
  // The headers are what the recorded checksum was made from, with an older version: the
  // version was bumped already, only the checksum is missing.
  const bool bumped = checksum(version - 1, code) == recorded;
  const int next = bumped ? version : version + 1;
  FAIL_CHECK("framework/include/graphrun/*.hpp changed since GRAPHRUN_SDK_HEADERS_CHECKSUM was recorded, so plugins "
             "built against the old headers may no longer fit this graphrun. In framework/include/graphrun/abi.hpp "
             "set\n  #define GRAPHRUN_ABI_VERSION "
             << next << "\n  #define GRAPHRUN_SDK_HEADERS_CHECKSUM \"" << checksum(next, code)
             << "\"\n(the checksum covers the version: it only passes together with that version).");
}

TEST_CASE("abi: comments, blank lines and spacing do not change the checksum; code does") {
  const std::string base = normalised("struct A {\n  int x;  // the x\n};\n");
  CHECK(normalised("/* A */ struct A {\n\n    int   x;\n}; // done\n") == base);
  CHECK(normalised("struct A {\n  int x; /* a\n  long comment */\n};\n") == base);
  CHECK(normalised("struct A {\n  long x;\n};\n") != base);
  CHECK(normalised("const char* s = \"// not a comment\";\n").find("// not a comment") != std::string::npos);
  CHECK(checksum(6, base) != checksum(7, base));
}
