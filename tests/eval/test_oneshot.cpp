// One-shot accuracy through a real graph with a known answer: the embedding of an image is
// the image itself (flatten, no parameters), each query is its class's support plus a little
// noise, so every query must find its class; wrong answers lower the accuracy by exactly
// their share. The same through a pair graph's distance output.
#include <doctest/doctest.h>

#include <graphrun/error.hpp>

#include "data/image_tree.hpp"
#include "eval/oneshot.hpp"
#include "image_fixtures.hpp"
#include "plugins.hpp"
#include "train/session.hpp"

using namespace graphrun;

namespace {

constexpr int kSide = 6;

// Folder with 4 classes of 3 images (pattern + noise of at most 3), and the decoded set:
// image 3c + k is image k of class c.
data::ImageSet images() {
  const std::string root = testing::fresh_folder("oneshot_images");
  testing::write_class_tree(root, 4, 3, kSide, kSide);
  return data::decode_tree(data::scan_image_tree({root}), data::ImageFormat{1, kSide, kSide, false}, "test", false);
}

std::string graph(const std::string& name, const std::string& output, const std::string& evaluation) {
  const std::string dir = testing::fresh_folder("oneshot_graph_" + name);
  const std::string path = dir + "/g.yaml";
  testing::write_text(path, "name: " + name + R"(
inputs:
  left:  {shape: [1, 6, 6]}
  right: {shape: [1, 6, 6]}
nodes:
  a:    {op: flatten, input: left}
  b:    {op: flatten, input: right}
  dist: {op: euclidean_distance, inputs: [a, b]}
output: )" + output + "\nevaluation: " + evaluation + "\n");
  return path;
}

SessionOptions quiet() {
  SessionOptions o;
  o.progress = false;
  o.out_dir = testing::fresh_folder("oneshot_run");
  return o;
}

// Task of classes `classes` (support: image 0 of each, `shots` of them), queries image `shots` of each.
data::OneShotTask task(const std::vector<int>& classes, int64_t shots = 1) {
  data::OneShotTask t;
  for (size_t w = 0; w < classes.size(); ++w) {
    t.supports.emplace_back();
    for (int64_t k = 0; k < shots; ++k) t.supports.back().push_back(3 * classes[w] + k);
    t.queries.push_back(3 * classes[w] + shots);
    t.answers.push_back(int32_t(w));
  }
  return t;
}

// The tasks every scorer is tried on, and what it must score: (1) all right, (2) answers
// rotated: all wrong, (3) one query of four swapped for another class's: 3 of 4 right.
std::vector<data::OneShotTask> tasks() {
  data::OneShotTask rotated = task({0, 1, 2});
  rotated.answers = {1, 2, 0};
  data::OneShotTask swapped = task({0, 1, 2, 3});
  swapped.queries[1] = 3 * 3 + 2;  // a class-3 image where class 1 is the answer
  return {task({0, 1, 2, 3}), rotated, swapped, task({3, 1}, 2)};
}

void check_known_answers(eval::Scorer& scorer, const data::ImageSet& set) {
  const auto all = tasks();
  const eval::OneShotResult right = eval::evaluate_tasks(scorer, set, {all[0]});
  CHECK(right.accuracy == 1.0);
  CHECK(right.tasks == 1);
  CHECK(right.ways == 4);
  CHECK(right.queries == 4);

  const eval::OneShotResult r = eval::evaluate_tasks(scorer, set, all);
  REQUIRE(r.per_task.size() == 4);
  CHECK(r.per_task[0] == 1.0);
  CHECK(r.per_task[1] == 0.0);
  CHECK(r.per_task[2] == 0.75);
  CHECK(r.per_task[3] == 1.0);  // two shots per class, the query the third image
  CHECK(r.queries == 13);
  CHECK(r.accuracy == doctest::Approx((4.0 + 0 + 3 + 2) / 13));
  CHECK(r.interval.half_width > 0);
}

}  // namespace

TEST_CASE("one-shot evaluation: an embedding graph (flatten of the image) finds every query's class") {
  const data::ImageSet set = images();
  Session s(graph("embed", "dist", "{embedding: a, distance: euclidean}"), testing::registry(), quiet());
  eval::Scorer scorer = s.scorer();
  REQUIRE(scorer.has_embedding());
  CHECK(scorer.dim() == kSide * kSide);
  check_known_answers(scorer, set);

  // Two images of one class are closer than any two images of different classes.
  const auto e = scorer.embeddings(set, {0, 1, 3});
  CHECK(scorer.embedding_distance(&e[0], &e[36]) < scorer.embedding_distance(&e[0], &e[72]));
  CHECK(e[5] == doctest::Approx(set.image(0)[5] / 255.0));  // the embedding is the image
}

TEST_CASE("one-shot evaluation: cosine and squared distances give the same answers here") {
  const data::ImageSet set = images();
  for (const char* d : {"cosine", "sqeuclidean"}) {
    Session s(graph("embed_" + std::string(d), "dist", std::string("{embedding: a, distance: ") + d + "}"), testing::registry(),
              quiet());
    eval::Scorer scorer = s.scorer();
    CHECK(eval::evaluate_tasks(scorer, set, {tasks()[0]}).accuracy == 1.0);
  }
}

TEST_CASE("one-shot evaluation: a pair graph's distance output, read as a distance") {
  const data::ImageSet set = images();
  Session s(graph("pairs", "dist", "{score: distance}"), testing::registry(), quiet());
  eval::Scorer scorer = s.scorer();
  REQUIRE_FALSE(scorer.has_embedding());
  CHECK_FALSE(scorer.higher_is_same());
  const auto raw = scorer.pair_scores(set, {{0, 1}, {0, 3}});
  CHECK(raw[0] < raw[1]);
  check_known_answers(scorer, set);

  // Read the other way round (a similarity), the farthest class wins: every query of a
  // task where the right class is the nearest goes wrong.
  Session backwards(graph("pairs_backwards", "dist", "{score: similarity}"), testing::registry(), quiet());
  eval::Scorer wrong = backwards.scorer();
  CHECK(eval::evaluate_tasks(wrong, set, {tasks()[0]}).accuracy == 0.0);
}

TEST_CASE("one-shot evaluation: bad set-ups are errors") {
  const data::ImageSet set = images();
  Session s(graph("bad", "a", "{score: distance}"), testing::registry(), quiet());
  eval::Scorer scorer = s.scorer();
  CHECK_THROWS_WITH_AS(eval::evaluate_tasks(scorer, set, tasks()), doctest::Contains("not one score per pair"), Error);
  CHECK_THROWS_WITH_AS(eval::evaluate_tasks(scorer, set, {}), doctest::Contains("no tasks"), Error);
  CHECK_THROWS_WITH_AS(Session(graph("bad_embedding", "dist", "{embedding: nowhere}"), testing::registry(), quiet()).scorer(),
                       doctest::Contains("'nowhere', which is not a node"), Error);
}
