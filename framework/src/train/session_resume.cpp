// Session: the run state in last.safetensors, and `graphrun train --resume` reading it back.
#include "train/run_state.hpp"
#include "train/session.hpp"
#include "train/threads.hpp"

#include <graphrun/error.hpp>

#include <algorithm>
#include <filesystem>

namespace graphrun {

namespace fs = std::filesystem;

void Session::save_run(RunState& run) {
  run.data_path = options_.data_path;
  run.threads = threads();
  Checkpoint c = weights_checkpoint();
  put_run_state(run, c.metadata);
  write_checkpoint(out_dir_ + "/last.safetensors", c);
}

int Session::resumed_threads() const { return resumed_ ? resumed_->threads : 0; }

// Checks that the run in options_.resume_dir is this graph's, keeps its state in resumed_
// and takes its seed, length, data folder and run folder as the defaults of this session.
Checkpoint Session::open_resume(const GraphSpec& spec) {
  const std::string& dir = options_.resume_dir;
  const std::string path = (fs::path(dir) / "last.safetensors").string();
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Error(dir + ": --resume needs the run folder of a `graphrun train`, and there is no such folder");
  if (!fs::exists(path, ec))
    throw Error(dir + ": nothing to resume: the folder has no last.safetensors (a run writes it after each epoch, and "
                "every train.checkpoint_every_steps steps)");
  Checkpoint c = read_checkpoint(path);
  auto meta = [&](const std::string& key) {
    auto it = c.metadata.find(key);
    return it == c.metadata.end() ? std::string() : it->second;
  };
  if (meta("run_epoch").empty())
    throw Error(path + ": holds weights but no run state to resume from (not written by `graphrun train` of this version)");
  if (meta("graph") != spec.name)
    throw Error(path + ": the run was trained with graph '" + meta("graph") + "', not with this graph '" + spec.name + "'");
  if (meta("graph_hash") != graph_hash_)
    throw Error(path + ": the run was trained with another version of " + spec.file + " (graph file hash " + meta("graph_hash") +
                ", now " + graph_hash_ + "): resume with the graph file the run started with");
  const std::string seed = meta("seed");
  if (seed.empty() || !std::all_of(seed.begin(), seed.end(), [](char ch) { return ch >= '0' && ch <= '9'; }) || seed.size() > 20)
    throw Error(path + ": not a resumable checkpoint: __metadata__ 'seed' must be a non-negative integer, got '" + seed + "'");
  const uint64_t run_seed = std::stoull(seed);
  if (options_.seed && *options_.seed != run_seed)
    throw Error("--seed " + std::to_string(*options_.seed) + " differs from the seed of the run in " + dir + " (" + seed +
                "): a resumed run keeps its seed");
  options_.seed = run_seed;
  resumed_ = std::make_unique<RunState>(get_run_state(c.metadata, path));
  if (!options_.epochs) options_.epochs = resumed_->epochs;
  if (options_.data_path.empty()) options_.data_path = resumed_->data_path;
  if (!options_.out_dir.empty() && !fs::equivalent(options_.out_dir, dir, ec))
    throw Error("--out " + options_.out_dir + " is not the folder of the resumed run (" + dir + "): a resumed run stays in its folder");
  options_.out_dir = dir;
  return c;
}

}  // namespace graphrun
