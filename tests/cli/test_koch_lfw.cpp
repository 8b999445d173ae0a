// R2's LFW graph (graphs/r2_koch_lfw.yaml) end to end through the graphrun command, on a
// small LFW-style fixture written here: name/name_0001.jpg colour JPEGs of 250x250 (as
// LFW-a ships them) and pairsDevTrain.txt / pairsDevTest.txt with their count lines. The
// graph is the shipped file with its paths, epochs and batch size changed and its images
// read at 65x65 instead of 105x105 (the smallest size the tower takes: its dense layer then
// reads 256 values instead of 9216, 1 M parameters instead of 38 M, so that training and
// its checkpoints take seconds); the same nodes, pair files and evaluation.
#include <doctest/doctest.h>

#include "cli_run.hpp"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

void replace_once(std::string& text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE_MESSAGE(at != std::string::npos, "graphs/r2_koch_lfw.yaml no longer contains '" << from << "'");
  text.replace(at, from.size(), to);
}

// A 250x250 colour face stand-in: each person a colour and a blob position of their own,
// each image of them shifted a little, with noise.
void write_face(const fs::path& file, int person, int image) {
  cv::Mat m(250, 250, CV_8UC3);
  std::mt19937 rng(uint32_t(person * 100 + image));
  cv::randu(m, cv::Scalar::all(0), cv::Scalar::all(60));
  const cv::Scalar colour(60 + 60 * (person % 3), 60 + 45 * ((person + 1) % 4), 200 - 40 * person);
  const int x = 60 + 30 * person + int(rng() % 9), y = 80 + 20 * (person % 2) + int(rng() % 9);
  m(cv::Rect(x, y, 90, 110)).setTo(colour);
  REQUIRE(cv::imwrite(file.string(), m));
}

struct Fixture {
  fs::path dir;
  Fixture() : dir(fs::temp_directory_path() / ("graphrun_koch_lfw_" + std::to_string(getpid()))) {
    fs::remove_all(dir);
    const std::map<std::string, int> people = {{"Ada_Lovelace", 3}, {"Alan_Turing", 3}, {"Grace_Hopper", 2}, {"Kurt_Godel", 2}};
    int person = 0;
    for (const auto& [name, count] : people) {
      fs::create_directories(dir / "lfw-a" / name);
      for (int i = 1; i <= count; ++i) {
        char file[128];
        std::snprintf(file, sizeof file, "%s_%04d.jpg", name.c_str(), i);
        write_face(dir / "lfw-a" / name / file, person, i);
      }
      ++person;
    }
    // The count line, then that many same pairs (name i j), then as many different ones
    // (name1 i name2 j), tab-separated as in LFW's files.
    std::ofstream(dir / "pairsDevTrain.txt") << "4\n"
                                             << "Ada_Lovelace\t1\t2\nAda_Lovelace\t2\t3\nAlan_Turing\t1\t3\nGrace_Hopper\t1\t2\n"
                                             << "Ada_Lovelace\t1\tAlan_Turing\t2\nGrace_Hopper\t2\tKurt_Godel\t1\n"
                                             << "Alan_Turing\t3\tKurt_Godel\t2\nAda_Lovelace\t3\tGrace_Hopper\t1\n";
    std::ofstream(dir / "pairsDevTest.txt") << "2\n"
                                            << "Alan_Turing\t2\t3\nKurt_Godel\t1\t2\n"
                                            << "Ada_Lovelace\t2\tKurt_Godel\t2\nAlan_Turing\t1\tGrace_Hopper\t1\n";
  }
  ~Fixture() { fs::remove_all(dir); }
};

}  // namespace

TEST_CASE("koch lfw: the LFW graph trains on pair files and writes AUC, EER and the ROC curve") {
  Fixture fx;
  std::string graph = read_text(fs::path(GRAPHRUN_SOURCE_DIR) / "graphs" / "r2_koch_lfw.yaml");
  REQUIRE(!graph.empty());
  replace_once(graph, "path: data/lfw/lfw-a", "path: " + (fx.dir / "lfw-a").string());
  replace_once(graph, "file: data/lfw/pairsDevTrain.txt", "file: " + (fx.dir / "pairsDevTrain.txt").string());
  replace_once(graph, "file: data/lfw/pairsDevTest.txt", "file: " + (fx.dir / "pairsDevTest.txt").string());
  replace_once(graph, "epochs: 30", "epochs: 2");
  replace_once(graph, "batch_size: 32", "batch_size: 4");  // 8 training pairs: 2 steps per epoch
  replace_once(graph, "left:  {shape: [3, 105, 105]}", "left:  {shape: [3, 65, 65]}");
  replace_once(graph, "right: {shape: [3, 105, 105]}", "right: {shape: [3, 65, 65]}");
  replace_once(graph, "size: [105, 105]", "size: [65, 65]");
  const fs::path file = fx.dir / "koch_lfw.yaml";
  std::ofstream(file) << graph;
  const fs::path out = fx.dir / "run";

  const auto r = graphrun::testing::run_cli("train " + file.string() + " --threads 1 --out " + out.string());
  CAPTURE(r.output);
  REQUIRE(r.code == 0);
  CHECK(r.output.find("resized to 65x65") != std::string::npos);  // 250x250 JPEGs read at the graph's size

  const std::string history = read_text(out / "history.csv");
  CHECK(history.rfind("epoch,", 0) == 0);
  CHECK(history.find("\n1,") != std::string::npos);
  CHECK(history.find("\n2,") != std::string::npos);
  CHECK(history.find("nan") == std::string::npos);

  const std::string test = read_text(out / "test.json");
  CAPTURE(test);
  CHECK(test.find("\"examples\": 4") != std::string::npos);
  CHECK(test.find("\"auc\": ") != std::string::npos);
  CHECK(test.find("\"eer\": ") != std::string::npos);
  CHECK(test.find("\"same_pairs\": 2") != std::string::npos);
  CHECK(test.find("\"different_pairs\": 2") != std::string::npos);
  CHECK(test.find("\"graph\": \"r2_koch_lfw\"") != std::string::npos);

  const std::string roc = read_text(out / "roc.csv");
  CHECK(roc.rfind("threshold,fpr,tpr\n", 0) == 0);
  CHECK(std::count(roc.begin(), roc.end(), '\n') >= 3);  // the header and at least two points
  CHECK(fs::exists(out / "weights.safetensors"));
}

TEST_CASE("koch lfw: the shipped LFW graph is Koch's network on 105x105 colour images") {
  const auto r = graphrun::testing::run_cli("summary " + (fs::path(GRAPHRUN_SOURCE_DIR) / "graphs" / "r2_koch_lfw.yaml").string());
  CAPTURE(r.output);
  REQUIRE(r.code == 0);
  CHECK(r.output.find("(None, 3, 105, 105)") != std::string::npos);
  CHECK(r.output.find("(None, 9216)") != std::string::npos);
  CHECK(r.output.find("Total params: 38966849") != std::string::npos);
}
