#pragma once
#include <graphrun/registry.hpp>

#include <memory>
#include <string>
#include <vector>

namespace graphrun {

// Loads plugin libraries into a Registry and keeps them loaded. Declare it before
// (so it is destroyed after) every graph whose nodes its libraries made.
class PluginLoader {
 public:
  PluginLoader();
  ~PluginLoader();
  PluginLoader(const PluginLoader&) = delete;
  PluginLoader& operator=(const PluginLoader&) = delete;

  // Loads one library; throws graphrun::Error with a clear reason on failure.
  void load(const std::string& path);
  // Loads every libgraphrun_*.so in the folder.
  void load_folder(const std::string& folder);
  // The build's plugin folder, the install prefix and GRAPHRUN_PLUGIN_PATH.
  void load_default();

  Registry& registry() { return registry_; }
  const std::vector<std::string>& libraries() const { return paths_; }

 private:
  struct Libraries;
  std::unique_ptr<Libraries> libs_;  // declared first: outlives the factories below
  Registry registry_;
  std::vector<std::string> paths_;
};

// Folders searched by load_default, in order.
std::vector<std::string> default_plugin_folders();

}  // namespace graphrun
