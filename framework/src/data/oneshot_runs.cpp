#include "data/oneshot_runs.hpp"

#include "data/image_tree.hpp"
#include "data/random.hpp"

#include <graphrun/error.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace graphrun::data {
namespace fs = std::filesystem;

OneShotSet load_oneshot_runs(const std::string& root, const ImageFormat& format, bool progress) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) throw Error(root + ": no such folder (expected the one-shot runs: runNN/class_labels.txt)");
  std::vector<fs::path> runs;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_directory() && fs::exists(it->path() / "class_labels.txt")) runs.push_back(it->path());
  std::sort(runs.begin(), runs.end());
  if (runs.empty()) throw Error(root + ": holds no run folders with a class_labels.txt");

  std::vector<std::string> files;
  std::vector<int32_t> labels;
  std::map<std::string, int64_t> index;
  auto add = [&](const std::string& path, int32_t label) {
    auto it = index.find(path);
    if (it != index.end()) return it->second;
    files.push_back(path);
    labels.push_back(label);
    return index[path] = int64_t(files.size() - 1);
  };
  OneShotSet out;
  for (const auto& run : runs) {
    OneShotTask task;
    task.name = run.filename().string();
    std::map<std::string, int32_t> class_of;  // training image (relative path) -> class index
    std::vector<fs::path> training;
    for (fs::directory_iterator it(run / "training", ec), end; !ec && it != end; it.increment(ec))
      if (is_image_file(it->path().string())) training.push_back(it->path());
    if (ec || training.empty()) throw Error((run / "training").string() + ": missing or holds no images");
    std::sort(training.begin(), training.end());
    for (const auto& t : training) {
      const int32_t c = int32_t(task.supports.size());
      class_of[task.name + "/training/" + t.filename().string()] = c;
      task.supports.push_back({add(t.string(), c)});
    }
    const std::string labels_file = (run / "class_labels.txt").string();
    std::ifstream in(labels_file);
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
      std::istringstream words(line);
      std::string query, answer, extra;
      if (!(words >> query)) continue;
      const std::string where = labels_file + ":" + std::to_string(number);
      if (!(words >> answer) || (words >> extra))
        throw Error(where + ": expected 'runNN/test/itemMM.png runNN/training/classKK.png', got '" + line + "'");
      auto c = class_of.find(answer);
      if (c == class_of.end()) throw Error(where + ": " + answer + " is not one of the run's training images");
      const fs::path q = fs::path(root) / query;
      if (!fs::is_regular_file(q, ec)) throw Error(where + ": names " + q.string() + ", which does not exist");
      task.queries.push_back(add(q.string(), -1));
      task.answers.push_back(c->second);
    }
    if (task.queries.empty()) throw Error(labels_file + ": lists no queries");
    out.tasks.push_back(std::move(task));
  }
  for (auto& l : labels) l = std::max(l, 0);  // queries carry their class through the task, not the label
  out.images = decode_files(files, labels, {}, format, root, progress);
  return out;
}

std::vector<OneShotTask> draw_tasks(const ImageSet& set, const TaskSpec& spec) {
  if (spec.ways < 2 || spec.shots < 1 || spec.queries < 1 || spec.count < 1)
    throw Error("one-shot tasks: ways must be >= 2, shots, queries and count >= 1");
  std::map<int32_t, std::vector<int64_t>> by_class;
  for (int64_t i = 0; i < set.count; ++i) by_class[set.labels[size_t(i)]].push_back(i);
  std::vector<const std::vector<int64_t>*> eligible;
  for (const auto& [label, images] : by_class)
    if (int64_t(images.size()) >= spec.shots + spec.queries) eligible.push_back(&images);
  if (int64_t(eligible.size()) < spec.ways)
    throw Error("one-shot tasks: " + std::to_string(spec.ways) + "-way " + std::to_string(spec.shots) + "-shot tasks with " +
                std::to_string(spec.queries) + " queries per class need " + std::to_string(spec.ways) + " classes of at least " +
                std::to_string(spec.shots + spec.queries) + " images; the set has " + std::to_string(eligible.size()));
  std::mt19937_64 rng(spec.seed);
  std::vector<OneShotTask> tasks;
  std::vector<size_t> classes(eligible.size());
  for (int64_t t = 0; t < spec.count; ++t) {
    OneShotTask task;
    task.name = "task " + std::to_string(t + 1);
    for (size_t i = 0; i < classes.size(); ++i) classes[i] = i;
    for (int64_t w = 0; w < spec.ways; ++w) {  // a partial Fisher-Yates: the first `ways` entries
      std::swap(classes[size_t(w)], classes[size_t(w) + size_t(uniform_below(rng, classes.size() - size_t(w)))]);
      std::vector<int64_t> images = *eligible[classes[size_t(w)]];
      for (int64_t k = 0; k < spec.shots + spec.queries; ++k)
        std::swap(images[size_t(k)], images[size_t(k) + size_t(uniform_below(rng, images.size() - size_t(k)))]);
      task.supports.emplace_back(images.begin(), images.begin() + spec.shots);
      for (int64_t q = 0; q < spec.queries; ++q) {
        task.queries.push_back(images[size_t(spec.shots + q)]);
        task.answers.push_back(int32_t(w));
      }
    }
    tasks.push_back(std::move(task));
  }
  return tasks;
}

}  // namespace graphrun::data
