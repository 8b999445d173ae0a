#include <graphrun/plugin_loader.hpp>
#include <cstdio>
int main() { graphrun::PluginLoader l; l.load_default(); for (auto& [n, op] : l.registry().ops()) std::printf("%s %s\n", n.c_str(), op.library.c_str()); }
