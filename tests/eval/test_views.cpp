// Test-time views (evaluation.views): the pixels of each view, the joined embedding a scorer
// gives, and its refusals.
#include <doctest/doctest.h>

#include <graphrun/error.hpp>

#include "data/image_tree.hpp"
#include "data/views.hpp"
#include "eval/oneshot.hpp"
#include "graph/spec.hpp"
#include "image_fixtures.hpp"
#include "plugins.hpp"
#include "train/session.hpp"

using namespace graphrun;

namespace {

// Image k of n of side 3x3: pixel p is 10 k + p (p = 3 row + col).
data::ImageSet counting(int64_t n, int64_t rows = 3, int64_t cols = 3) {
  data::ImageSet s;
  s.count = n, s.rows = rows, s.cols = cols;
  for (int64_t k = 0; k < n; ++k) {
    for (int64_t p = 0; p < rows * cols; ++p) s.pixels.push_back(uint8_t(10 * k + p));
    s.labels.push_back(int32_t(k));
  }
  s.class_names = {"a", "b"};
  return s;
}

std::vector<int> pixels(const data::ImageSet& s, int64_t i) { return {s.image(i), s.image(i) + s.image_size()}; }

std::string graph(const std::string& name, const std::string& evaluation) {
  const std::string path = testing::fresh_folder("views_graph_" + name) + "/g.yaml";
  testing::write_text(path, "name: " + name + R"(
inputs:
  image: {shape: [1, 6, 6]}
nodes:
  e: {op: flatten, input: image}
output: e
evaluation: )" + evaluation + "\n");
  return path;
}

SessionOptions quiet() {
  SessionOptions o;
  o.progress = false;
  o.out_dir = testing::fresh_folder("views_run");
  return o;
}

}  // namespace

TEST_CASE("views: every rotation of every image, each plain then mirrored, image after image") {
  const data::ImageSet views = data::with_views(counting(2), data::ViewSpec{{0, 90}, true});
  REQUIRE(views.count == 8);
  CHECK(pixels(views, 0) == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8});
  CHECK(pixels(views, 1) == std::vector<int>{2, 1, 0, 5, 4, 3, 8, 7, 6});  // mirrored left to right
  CHECK(pixels(views, 2) == std::vector<int>{2, 5, 8, 1, 4, 7, 0, 3, 6});  // a quarter turn counterclockwise
  CHECK(pixels(views, 3) == std::vector<int>{8, 5, 2, 7, 4, 1, 6, 3, 0});  // that turn, mirrored
  CHECK(pixels(views, 4) == std::vector<int>{10, 11, 12, 13, 14, 15, 16, 17, 18});
  CHECK(views.labels == std::vector<int32_t>{0, 0, 0, 0, 1, 1, 1, 1});
  CHECK(views.class_names == std::vector<std::string>{"a", "b"});

  const data::ImageSet half = data::with_views(counting(1), data::ViewSpec{{180}, false});
  REQUIRE(half.count == 1);
  CHECK(pixels(half, 0) == std::vector<int>{8, 7, 6, 5, 4, 3, 2, 1, 0});
}

TEST_CASE("views: each view moved by every shift in turn, the border repeated into the gap") {
  const data::ImageSet views = data::with_views(counting(2), data::ViewSpec{{0}, true, {{0, 0}, {1, 0}, {0, -1}}});
  REQUIRE(views.count == 12);  // 2 images x (plain, mirrored) x 3 shifts
  CHECK(pixels(views, 0) == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8});
  CHECK(pixels(views, 1) == std::vector<int>{0, 0, 1, 3, 3, 4, 6, 6, 7});  // one pixel right
  CHECK(pixels(views, 2) == std::vector<int>{3, 4, 5, 6, 7, 8, 6, 7, 8});  // one pixel up
  CHECK(pixels(views, 3) == std::vector<int>{2, 1, 0, 5, 4, 3, 8, 7, 6});  // mirrored
  CHECK(pixels(views, 4) == std::vector<int>{2, 2, 1, 5, 5, 4, 8, 8, 7});  // mirrored, then moved right
  CHECK(pixels(views, 6) == std::vector<int>{10, 11, 12, 13, 14, 15, 16, 17, 18});
  CHECK(views.labels == std::vector<int32_t>{0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1});

  data::ViewSpec moved{{0}, false, {{0, 1}}};
  CHECK(moved.enabled());
  CHECK(pixels(data::with_views(counting(1), moved), 0) == std::vector<int>{0, 1, 2, 0, 1, 2, 3, 4, 5});
  CHECK_THROWS_WITH_AS(data::with_views(counting(1), data::ViewSpec{{0}, false, {{3, 0}}}),
                       doctest::Contains("shift [3, 0] moves a 3x3 image out of its frame"), Error);
  CHECK_THROWS_WITH_AS(data::with_views(counting(1), data::ViewSpec{{0}, false, {{1, 0}, {1, 0}}}),
                       doctest::Contains("shift [1, 0] is named twice"), Error);
  CHECK_THROWS_WITH_AS(data::with_views(counting(1), data::ViewSpec{{0}, false, {}}), doctest::Contains("no shift"), Error);
}

TEST_CASE("views: a quarter turn of an image that is not square, an unknown or repeated angle are errors") {
  CHECK_THROWS_WITH_AS(data::with_views(counting(1, 2, 3), data::ViewSpec{{0, 90}, false}), doctest::Contains("square"), Error);
  CHECK_NOTHROW(data::with_views(counting(1, 2, 3), data::ViewSpec{{0, 180}, true}));
  CHECK_THROWS_WITH_AS(data::with_views(counting(1), data::ViewSpec{{45}, false}), doctest::Contains("0, 90, 180 or 270"), Error);
  CHECK_THROWS_WITH_AS(data::with_views(counting(1), data::ViewSpec{{90, 90}, false}), doctest::Contains("twice"), Error);
}

TEST_CASE("views: the scorer joins the views' embeddings, so squared distances add up view by view") {
  const std::string root = testing::fresh_folder("views_images");
  testing::write_class_tree(root, 3, 2, 6, 6);
  const data::ImageSet set = data::decode_tree(data::scan_image_tree({root}), data::ImageFormat{1, 6, 6, false}, "test", false);

  Session plain(graph("plain", "{embedding: e, distance: sqeuclidean}"), testing::registry(), quiet());
  Session viewed(graph("viewed", "{embedding: e, distance: sqeuclidean, views: {rotations: [0, 90, 180, 270], mirror: true}}"),
                 testing::registry(), quiet());
  eval::Scorer one = plain.scorer(), eight = viewed.scorer();
  REQUIRE(one.dim() == 36);
  REQUIRE(eight.dim() == 8 * 36);

  const std::vector<int64_t> picked = {0, 3};
  const std::vector<float> joined = eight.embeddings(set, picked);
  REQUIRE(joined.size() == 2 * 8 * 36);
  // The embedding here is the image, so each block is the view's own pixels.
  const data::ImageSet views = data::with_views(data::select_images(set, picked, false), data::ViewSpec{{0, 90, 180, 270}, true});
  double sum = 0;
  for (int64_t v = 0; v < 8; ++v) {
    const std::vector<float> a = one.embeddings(views, {v}), b = one.embeddings(views, {8 + v});
    for (int64_t k = 0; k < 36; ++k) {
      CHECK(joined[size_t(v * 36 + k)] == a[size_t(k)]);
      CHECK(joined[size_t((8 + v) * 36 + k)] == b[size_t(k)]);
    }
    sum += one.embedding_distance(a.data(), b.data());
  }
  CHECK(sum > 0);
  CHECK(eight.embedding_distance(&joined[0], &joined[8 * 36]) == doctest::Approx(sum));

  // One-shot evaluation reads the joined embedding: each class's second image finds its first.
  data::OneShotTask t;
  for (int c = 0; c < 3; ++c) t.supports.push_back({2 * c}), t.queries.push_back(2 * c + 1), t.answers.push_back(c);
  CHECK(eval::evaluate_tasks(eight, set, {t}).accuracy == 1.0);
}

TEST_CASE("views: the graph file's mistakes are refused with the key named") {
  auto refused = [](const std::string& evaluation) {
    try {
      load_graph_spec(graph("bad_views", evaluation));
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  CHECK(refused("{views: {rotations: [0, 180]}}").find("'views' need 'embedding'") != std::string::npos);
  CHECK(refused("{embedding: e, views: {rotations: [0, 45]}}").find("0, 90, 180 or 270") != std::string::npos);
  CHECK(refused("{embedding: e, views: {rotations: [0, 0]}}").find("named twice") != std::string::npos);
  CHECK(refused("{embedding: e, views: {rotations: []}}").find("no angle") != std::string::npos);
  CHECK(refused("{embedding: e, views: {flip: true}}").find("flip") != std::string::npos);
  CHECK(refused("{embedding: e, views: {rotations: [0, 180], mirror: true}}") == "accepted");
  CHECK(refused("{embedding: e, views: {shifts: [[0, 0], [2]]}}").find("each shift is [right, down]") != std::string::npos);
  CHECK(refused("{embedding: e, views: {shifts: [[1, 1], [1, 1]]}}").find("shift [1, 1] is named twice") != std::string::npos);
  CHECK(refused("{embedding: e, views: {shifts: [[0, 0], [-2, 1]]}}") == "accepted");
}

TEST_CASE("views: quarter turns of images that are not square, and shifts out of the frame, are refused when the session opens") {
  const std::string root = testing::fresh_folder("views_narrow_images");
  testing::write_class_tree(root, 2, 2, 6, 4);
  auto session = [&](const std::string& rotations) {
    const std::string path = testing::fresh_folder("views_narrow_graph") + "/g.yaml";
    testing::write_text(path, R"(name: narrow
inputs:
  image: {shape: [1, 6, 4]}
nodes:
  e: {op: flatten, input: image}
output: e
data: {format: images, path: )" + root + R"(, train: {}}
evaluation: {embedding: e, views: {rotations: )" + rotations + "}}\n");
    Session s(path, testing::registry(), quiet());
  };
  CHECK_THROWS_WITH_AS(session("[0, 90]"), doctest::Contains("needs square images; these are 6x4"), Error);
  CHECK_NOTHROW(session("[0, 180]"));
  CHECK_THROWS_WITH_AS(session("[0], shifts: [[0, 0], [4, 0]]"),
                       doctest::Contains("evaluation.views shift [4, 0] moves these 6x4 images out of their frame"), Error);
  CHECK_NOTHROW(session("[0], shifts: [[0, 0], [3, -5]]"));
}
