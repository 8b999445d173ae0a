// Plugins that cannot be used are refused with a clear message, never called into.
#include <doctest/doctest.h>
#include <graphrun/error.hpp>
#include <graphrun/plugin_loader.hpp>

#include "plugins.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace graphrun;

TEST_CASE("plugin loader: the build's plugins register every op of the reference systems") {
  for (auto op : {"input", "flatten", "dense", "activation", "dropout", "concat", "subtract", "l1_distance",
                  "euclidean_distance", "product_sum", "binary_crossentropy", "contrastive_loss", "categorical_crossentropy"}) {
    CAPTURE(op);
    const OpInfo* info = testing::registry().find(op);
    REQUIRE(info != nullptr);
    CHECK(info->library.find("libgraphrun_") != std::string::npos);
  }
}

TEST_CASE("plugin loader: a file that is not a shared library") {
  auto dir = std::filesystem::temp_directory_path() / "graphrun_bad_plugin";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "libgraphrun_garbage.so") << "this is not an ELF file";
  PluginLoader loader;
  CHECK_THROWS_WITH_AS(loader.load_folder(dir.string()), doctest::Contains("could not be loaded"), Error);
  CHECK_THROWS_WITH_AS(loader.load((dir / "missing.so").string()), doctest::Contains("does not exist"), Error);
}

TEST_CASE("plugin loader: a shared library that is not a graphrun plugin") {
  PluginLoader loader;
  CHECK_THROWS_WITH_AS(loader.load(GRAPHRUN_BINARY_DIR "/framework/libgraphrun.so"), doctest::Contains("is not a graphrun plugin"),
                       Error);
}

TEST_CASE("plugin loader: a plugin built for another ABI version is refused") {
  PluginLoader loader;
  const std::string expected = "was built for graphrun ABI version " + std::to_string(GRAPHRUN_ABI_VERSION + 1);
  CHECK_THROWS_WITH_AS(loader.load(GRAPHRUN_BINARY_DIR "/test_plugins/libgraphrun_wrong_abi.so"),
                       doctest::Contains(expected.c_str()), Error);
  CHECK(loader.registry().ops().empty());
}

TEST_CASE("plugin loader: GRAPHRUN_PLUGIN_PATH folders are searched first") {
  ::setenv("GRAPHRUN_PLUGIN_PATH", "/nonexistent/a:/nonexistent/b", 1);
  auto folders = default_plugin_folders();
  ::unsetenv("GRAPHRUN_PLUGIN_PATH");
  REQUIRE(folders.size() >= 3);
  CHECK(folders[0] == "/nonexistent/a");
  CHECK(folders[1] == "/nonexistent/b");
}
