// The LFW pair-file reader, over a fixed image tree made once in a temporary folder:
//   Ann/Ann_0001.jpg, Ann/Ann_0002.jpg, Bob/Bob_0001.jpg, Bob/Bob_0002.jpg, Bob/Bob_0003.jpg
// (tiny PGM images under LFW's names: OpenCV detects the format by content). The input is
// the pair file's text; a file that reads is then loaded (images decoded, pairs built).
#include <graphrun/error.hpp>

#include "data/pair_file.hpp"
#include "fuzz_support.hpp"
#include "train/threads.hpp"

#include <cstdint>
#include <filesystem>
#include <string>

namespace {

std::string image_root() {
  static const std::string root = [] {
    const std::filesystem::path r = graphrun::fuzz::temp_dir() / "lfw";
    const std::pair<const char*, int> people[] = {{"Ann", 2}, {"Bob", 3}};
    for (const auto& [name, count] : people) {
      std::filesystem::create_directories(r / name);
      for (int i = 1; i <= count; ++i) {
        std::string pgm = "P5\n4 3\n255\n";
        for (int p = 0; p < 12; ++p) pgm += char(p * 20 + i);
        char file[64];
        std::snprintf(file, sizeof file, "%s/%s_%04d.jpg", name, name, i);
        graphrun::fuzz::write_file((std::filesystem::path("lfw") / file).string(),
                                   reinterpret_cast<const uint8_t*>(pgm.data()), pgm.size());
      }
    }
    return r.string();
  }();
  return root;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  graphrun::set_threads(1);
  image_root();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = graphrun::fuzz::write_file("pairs.txt", data, size);
  try {
    const auto entries = graphrun::data::read_pair_file(path, image_root());
    graphrun::data::ImageFormat format;
    format.rows = 3, format.cols = 4;
    const graphrun::data::PairData loaded = graphrun::data::load_pair_file(path, image_root(), format, 1.0f, false);
    if (loaded.pairs.size() != entries.size()) __builtin_trap();
    for (const auto& p : loaded.pairs)
      if (p.a >= loaded.images.count || p.b >= loaded.images.count) __builtin_trap();
  } catch (const graphrun::Error&) {
  }
  return 0;
}
