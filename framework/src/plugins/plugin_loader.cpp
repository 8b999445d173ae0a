#include <graphrun/error.hpp>
#include <graphrun/plugin_loader.hpp>

#include <boost/dll/import.hpp>
#include <boost/dll/shared_library.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <sstream>

namespace graphrun {

struct PluginLoader::Libraries {
  std::vector<boost::dll::shared_library> loaded;
};

PluginLoader::PluginLoader() : libs_(std::make_unique<Libraries>()) {}

PluginLoader::~PluginLoader() {
  registry_ = Registry();  // factories first: their code lives in the libraries
}

void PluginLoader::load(const std::string& path) {
  namespace fs = std::filesystem;
  std::string canonical = fs::exists(path) ? fs::canonical(path).string() : path;
  if (std::find(paths_.begin(), paths_.end(), canonical) != paths_.end()) return;
  if (!fs::exists(path)) throw Error("plugin '" + path + "' does not exist");

  boost::dll::shared_library lib;
  boost::system::error_code ec;
  lib.load(boost::dll::fs::path(canonical), boost::dll::load_mode::default_mode, ec);
  if (ec) {
    // Boost's errno text is misleading ("Illegal seek"); dlerror() is not kept, so say what we know.
    throw Error("plugin '" + canonical + "' could not be loaded: not a loadable shared library, or it "
                "needs a library that is missing (try: ldd " + canonical + ")");
  }
  if (!lib.has("graphrun_plugin_abi_version") || !lib.has("graphrun_register_ops"))
    throw Error("'" + canonical + "' is not a graphrun plugin: it does not export "
                "graphrun_plugin_abi_version and graphrun_register_ops (use GRAPHRUN_PLUGIN)");
  int abi = lib.get<const int>("graphrun_plugin_abi_version");
  if (abi != GRAPHRUN_ABI_VERSION) {
    std::ostringstream msg;
    msg << "plugin '" << canonical << "' was built for graphrun ABI version " << abi
        << " but this graphrun has ABI version " << GRAPHRUN_ABI_VERSION << ": rebuild the plugin";
    throw Error(msg.str());
  }
  auto& register_ops = lib.get_alias<RegisterFn>("graphrun_register_ops");
  registry_.set_current_library(canonical);
  register_ops(registry_);
  registry_.set_current_library("");
  libs_->loaded.push_back(std::move(lib));
  paths_.push_back(canonical);
}

void PluginLoader::load_folder(const std::string& folder) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) return;
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("libgraphrun_", 0) == 0 && entry.path().extension() == ".so") found.push_back(entry.path().string());
  }
  std::sort(found.begin(), found.end());  // deterministic order
  for (const auto& path : found) load(path);
}

std::vector<std::string> default_plugin_folders() {
  std::vector<std::string> folders;
  if (const char* env = std::getenv("GRAPHRUN_PLUGIN_PATH")) {
    std::stringstream ss(env);
    std::string item;
    while (std::getline(ss, item, ':'))
      if (!item.empty()) folders.push_back(item);
  }
  folders.push_back(GRAPHRUN_BUILD_PLUGIN_DIR);
  folders.push_back(GRAPHRUN_INSTALL_PLUGIN_DIR);
  return folders;
}

void PluginLoader::load_default() {
  for (const auto& folder : default_plugin_folders()) load_folder(folder);
  if (registry_.ops().empty())
    throw Error("no graphrun plugins found; searched GRAPHRUN_PLUGIN_PATH, " + std::string(GRAPHRUN_BUILD_PLUGIN_DIR) +
                " and " + GRAPHRUN_INSTALL_PLUGIN_DIR);
}

}  // namespace graphrun
