// Every graph shipped in graphs/ parses, builds with this build's plugins, has a loss exactly
// when it has parameters to train, and opens with a comment that says what it is; every
// graph file the README names is one of them.
#include <doctest/doctest.h>

#include <graphrun/error.hpp>

#include "graph/model.hpp"
#include "graph/spec.hpp"
#include "plugins.hpp"

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

using namespace graphrun;
namespace fs = std::filesystem;

namespace {

const fs::path kGraphs = fs::path(GRAPHRUN_SOURCE_DIR) / "graphs";

std::set<std::string> shipped_graphs() {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(kGraphs))
    if (e.path().extension() == ".yaml") names.insert(e.path().filename().string());
  return names;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("shipped graphs: each parses and builds, trains or is only scored, and opens with a comment") {
  const auto names = shipped_graphs();
  // The five reference systems and graphrun's own one-shot graph at least: an empty or
  // misplaced folder must not pass as "every graph builds".
  for (const char* must : {"r1_digit_classifier.yaml", "r2_koch_omniglot.yaml", "r3_siamese_mlp.yaml",
                           "r4_conv_siamese.yaml", "r5a_separate_towers.yaml", "omniglot_prototypical.yaml"})
    REQUIRE_MESSAGE(names.count(must), "graphs/" << must << " is missing");
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  for (const auto& name : names) {
    CAPTURE(name);
    const fs::path path = kGraphs / name;
    CHECK_MESSAGE(read_text(path).rfind("# ", 0) == 0, "graphs/" << name << " does not open with a comment");
    try {
      const Model m(load_graph_spec(path.string()), testing::registry(), engine);
      // A graph trains (a loss and parameters to fit) or is only scored (r1_product_matcher).
      CHECK(m.has_trainable_params() == !m.spec().loss.empty());
    } catch (const Error& e) {
      FAIL_CHECK("graphs/" << name << ": " << std::string(e.what()));
    }
  }
}

TEST_CASE("shipped graphs: every graph file the README names exists") {
  const auto names = shipped_graphs();
  const std::string readme = read_text(fs::path(GRAPHRUN_SOURCE_DIR) / "README.md");
  REQUIRE_FALSE(readme.empty());
  // Names in `code`, alone (the reference-systems table) or as graphs/<name>.yaml.
  const std::regex named("`(?:graphs/)?([a-z0-9_]+\\.yaml)`");
  int seen = 0;
  for (auto it = std::sregex_iterator(readme.begin(), readme.end(), named); it != std::sregex_iterator(); ++it) {
    const std::string name = (*it)[1];
    if (name == "graph.yaml") continue;  // the copy of the graph in a run folder
    CHECK_MESSAGE(names.count(name), "README.md names " << name << ", which is not in graphs/");
    ++seen;
  }
  CHECK(seen >= 10);
}
