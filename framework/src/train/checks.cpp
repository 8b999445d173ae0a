#include "train/checks.hpp"

#include "train/feed.hpp"

#include <graphrun/error.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace graphrun {

void check_pair_strategy(const Model& model) {
  const DataSpec& d = model.spec().data;
  if (!d.present || d.strategy != "none") return;
  bool left = false, right = false;
  for (int id : model.graph_inputs()) {
    const auto field = batch_field(model.nodes()[id].feed);
    left = left || field == BatchField::left;
    right = right || field == BatchField::right;
  }
  if (!left || !right) return;
  throw Error(d.where + ": the graph reads pairs (inputs fed from 'left' and 'right') but data has no pair strategy, so "
              "each image would be paired with itself and labelled with its digit: add pairs: {strategy: consecutive | "
              "balanced | class_weighted} (strategy none is for single-image graphs)");
}

void check_evaluation_views(const Model& model, const data::ImageFormat& format) {
  const EvaluationSpec& e = model.spec().evaluation;
  const auto& r = e.views.rotations;
  const bool quarter_turn = std::find(r.begin(), r.end(), 90) != r.end() || std::find(r.begin(), r.end(), 270) != r.end();
  if (quarter_turn && format.rows != format.cols)
    throw Error(e.where + ": evaluation.views turns images by 90 degrees, which needs square images; these are " +
                std::to_string(format.rows) + "x" + std::to_string(format.cols) + " (use rotations [0, 180])");
  for (const auto& [dx, dy] : e.views.shifts)
    if (std::abs(dx) >= format.cols || std::abs(dy) >= format.rows)
      throw Error(e.where + ": evaluation.views shift [" + std::to_string(dx) + ", " + std::to_string(dy) +
                  "] moves these " + std::to_string(format.rows) + "x" + std::to_string(format.cols) +
                  " images out of their frame (a shift is [right, down] in pixels)");
}

void check_checkpoint_graph(const Checkpoint& ckpt, const std::string& path, const std::string& graph, bool allow_other) {
  auto it = ckpt.metadata.find("graph");
  if (allow_other || it == ckpt.metadata.end() || it->second == graph) return;
  throw Error(path + ": the checkpoint was written by graph '" + it->second + "', not by this graph '" + graph +
              "' (pass --weights-from-other-graph to load its tensors by name anyway)");
}

void prepare_run_folder(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw Error(dir + ": the run folder (--out) is an existing file; expected a folder, or a path where one can be created");
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir + ": cannot create the run folder (--out): " + ec.message());
  const fs::path probe = fs::path(dir) / (".graphrun_probe_" + std::to_string(::getpid()));
  bool ok = false;
  {
    std::ofstream f(probe);
    f << "graphrun\n";
    f.flush();
    ok = bool(f);
  }
  fs::remove(probe, ec);
  if (!ok) throw Error(dir + ": the run folder (--out) is not writable (a test file could not be written in it)");
}

}  // namespace graphrun
