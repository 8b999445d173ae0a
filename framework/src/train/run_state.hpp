#pragma once
// What last.safetensors holds besides the tensors: everything that decides the rest of a run,
// so that `graphrun train --resume` ends where the uninterrupted run would have, bit for bit.
// The data order and every random draw (shuffle, pairs, augmentation, dropout) are pure
// functions of the seed, the epoch and the step, so those three stand for them.
#include "train/callbacks.hpp"
#include "train/metrics.hpp"
#include "train/session.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace graphrun {

struct RunState {
  int64_t epoch = 0;       // epochs done: the 0-based epoch in progress
  int64_t epoch_step = 0;  // that epoch's steps done
  int64_t epochs = 0;      // the run's length (train.epochs, or --epochs)
  bool stopped = false;    // early stopping or the time budget ended it
  double plateau_factor = 1;             // ReduceLROnPlateau's reductions so far
  double elapsed_seconds = 0;            // training time so far, for train.max_minutes
  double epoch_seconds = 0;              // of the epoch in progress
  Metrics::Sums sums;                    // the epoch in progress: loss sum, counts, confusion
  std::optional<EarlyStopping::State> stopper;
  std::optional<ReduceLROnPlateau::State> plateau;
  std::vector<EpochRecord> records;      // the epochs done, as history.csv has them
  std::string data_hash;                 // the training pairs, to refuse another data set
  std::string data_path;                 // --data of the run, reused by --resume
  int threads = 0;                       // compute threads of the run, reused by --resume
};

// Adds the state under "run_*" keys; doubles are written so that they read back exactly.
void put_run_state(const RunState& s, std::map<std::string, std::string>& metadata);
// Reads it back; a missing or malformed key throws Error naming `path` and the key.
RunState get_run_state(const std::map<std::string, std::string>& metadata, const std::string& path);

// 16 hex digits (64-bit FNV-1a): graph files and training pairs, compared on --resume.
std::string text_hash(const std::string& bytes);
std::string file_hash(const std::string& path);
// The training examples' identity: image count and labels, and the pairs over them.
std::string data_hash(const data::ImageSet& images, const std::vector<data::Pair>& pairs);

}  // namespace graphrun
