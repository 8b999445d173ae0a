#pragma once
// Checks that need more than the graph file's text: the model's inputs against the data
// section, a checkpoint against the graph, the run folder against the file system.
#include "graph/model.hpp"
#include "data/image_decode.hpp"
#include "io/checkpoint.hpp"

#include <string>

namespace graphrun {

// A graph fed from both `left` and `right` compares pairs: it needs a pair strategy
// (without one, each image would be paired with itself and labelled with its digit).
void check_pair_strategy(const Model& model);

// evaluation.views that turn an image by 90 degrees need square images: refused before
// training rather than when the first evaluation runs.
void check_evaluation_views(const Model& model, const data::ImageFormat& format);

// A checkpoint whose __metadata__ names another graph is refused unless allowed
// (`--weights-from-other-graph`): matching tensor names alone do not make it this graph's.
void check_checkpoint_graph(const Checkpoint& ckpt, const std::string& path, const std::string& graph, bool allow_other);

// Creates the run folder and proves it writable (a probe file written and removed), so a
// bad --out fails before training rather than after it.
void prepare_run_folder(const std::string& dir);

}  // namespace graphrun
