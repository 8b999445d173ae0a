// End to end on real MNIST: training reaches an accuracy, and a checkpoint reloads to the
// same figures.
#include <doctest/doctest.h>
#include <graphrun/error.hpp>

#include "mnist.hpp"
#include "plugins.hpp"
#include "train/session.hpp"

#include <filesystem>
#include <fstream>

using namespace graphrun;

namespace {

SessionOptions quiet_in(const std::string& dir) {
  SessionOptions o;
  o.out_dir = dir;
  o.progress = false;
  return o;
}

std::string temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("graphrun_test_" + name);
  std::filesystem::remove_all(dir);
  return dir.string();
}

}  // namespace

TEST_CASE("training: a small Siamese MLP learns MNIST pairs; its checkpoint scores identically") {
  REQUIRE_MESSAGE(testing::have_mnist(), "data/mnist missing: run tools/setup.sh");
  const std::string dir = temp_dir("train");
  Session s(testing::graph_path("mnist_small.yaml"), testing::registry(), quiet_in(dir));
  auto history = s.train();
  REQUIRE(history.size() == 5);
  CHECK(history.back().loss < history.front().loss);
  Metrics test = s.evaluate("test");
  CHECK(test.count() == 2000);  // balanced: one same and one different pair per image
  CHECK(test.accuracy() > 0.85);
  std::ifstream csv(dir + "/history.csv");
  std::string header;
  std::getline(csv, header);
  CHECK(header == "epoch,accuracy,loss,val_accuracy,val_auc,val_eer,val_loss,learning_rate,seconds");

  Session again(testing::graph_path("mnist_small.yaml"), testing::registry(), quiet_in(dir));
  Metrics fresh = again.evaluate("test");
  CHECK(fresh.accuracy() != doctest::Approx(test.accuracy()));  // untrained weights differ
  again.load_weights(dir + "/weights.safetensors");
  Metrics reloaded = again.evaluate("test");
  CHECK(reloaded.accuracy() == test.accuracy());
  CHECK(reloaded.loss() == test.loss());
  CHECK(reloaded.confusion() == test.confusion());
}

TEST_CASE("training: the same seed gives the same run") {
  REQUIRE_MESSAGE(testing::have_mnist(), "data/mnist missing: run tools/setup.sh");
  SessionOptions o = quiet_in(temp_dir("seed"));
  o.epochs = 1;
  Session a(testing::graph_path("mnist_small.yaml"), testing::registry(), o);
  Session b(testing::graph_path("mnist_small.yaml"), testing::registry(), o);
  const double first = a.train()[0].loss;
  CHECK(first == b.train()[0].loss);
  o.seed = 1;
  Session c(testing::graph_path("mnist_small.yaml"), testing::registry(), o);
  CHECK(c.train()[0].loss != first);
}

TEST_CASE("checkpoints: a damaged or mismatched file is refused with a message") {
  REQUIRE_MESSAGE(testing::have_mnist(), "data/mnist missing: run tools/setup.sh");
  const std::string dir = temp_dir("ckpt");
  SessionOptions o = quiet_in(dir);
  o.epochs = 0;
  Session s(testing::graph_path("mnist_small.yaml"), testing::registry(), o);
  std::filesystem::create_directories(dir);
  s.save_weights(dir + "/w.safetensors");

  const auto size = std::filesystem::file_size(dir + "/w.safetensors");
  std::filesystem::copy_file(dir + "/w.safetensors", dir + "/cut.safetensors");
  std::filesystem::resize_file(dir + "/cut.safetensors", size - 100);
  CHECK_THROWS_WITH_AS(s.load_weights(dir + "/cut.safetensors"), doctest::Contains("outside the file"), Error);

  std::ofstream(dir + "/junk.safetensors") << "not a checkpoint at all";
  CHECK_THROWS_WITH_AS(s.load_weights(dir + "/junk.safetensors"), doctest::Contains("not a valid checkpoint"), Error);

  CHECK_THROWS_WITH_AS(s.load_weights(dir + "/none.safetensors"), doctest::Contains("cannot open"), Error);
}
