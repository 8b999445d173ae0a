#pragma once
// The real plugin libraries of this build, loaded once for the whole test binary.
#include <graphrun/plugin_loader.hpp>

namespace graphrun::testing {

inline PluginLoader& plugins() {
  static PluginLoader* loader = [] {
    auto* l = new PluginLoader();  // never destroyed: nodes may outlive static destruction order
    l->load_folder(GRAPHRUN_BINARY_DIR "/plugins");
    return l;
  }();
  return *loader;
}

inline const Registry& registry() { return plugins().registry(); }

}  // namespace graphrun::testing
