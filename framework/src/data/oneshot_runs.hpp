#pragma once
// One-shot tasks: the official Omniglot runs (runNN/class_labels.txt, training/, test/) and
// N-way K-shot tasks drawn from any labelled image set.
#include "data/idx.hpp"
#include "data/image_decode.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace graphrun::data {

// One task: every query is to be matched to one of `ways` classes, each known from the
// support images of that class. Indices are into the ImageSet the task came with.
struct OneShotTask {
  std::string name;                               // "run01", "task 17"
  std::vector<std::vector<int64_t>> supports;     // per class: its support images
  std::vector<int64_t> queries;
  std::vector<int32_t> answers;                   // per query: the index of its class in supports
};

struct OneShotSet {
  ImageSet images;
  std::vector<OneShotTask> tasks;
};

// Reads every runNN folder under `root` (sorted): its training/ images are the supports
// (one class each), class_labels.txt lists each query with its class's training image,
// paths relative to `root`. Errors name file:line (a malformed line, an image that does not
// exist, a query whose class image is not among the run's training images).
OneShotSet load_oneshot_runs(const std::string& root, const ImageFormat& format, bool progress = true);

struct TaskSpec {
  int64_t ways = 5, shots = 1, queries = 1;  // queries per class
  int64_t count = 100;                       // tasks
  uint64_t seed = 0;
};

// Draws `count` tasks from `set`: each picks `ways` distinct classes with at least
// shots + queries images, then shots supports and `queries` queries per class, without
// repetition inside a task. Throws Error when fewer than `ways` classes have enough images.
std::vector<OneShotTask> draw_tasks(const ImageSet& set, const TaskSpec& spec);

}  // namespace graphrun::data
