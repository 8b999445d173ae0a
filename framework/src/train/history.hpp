#pragma once
// history.csv: one row per epoch, Keras's CSVLogger columns, then the extra figures, then
// learning_rate and seconds.
#include "train/session.hpp"

#include <fstream>
#include <string>
#include <vector>

namespace graphrun {

class History {
 public:
  // A new run (kept empty) starts the file afresh. A resumed one keeps the header and the
  // rows of the epochs its checkpoint holds, drops any row after them (written before the
  // checkpoint was), writes back rows the file lost, and appends from there.
  History(std::string path, const std::vector<EpochRecord>& kept);
  void append(const EpochRecord& r);  // the header first, when the file has none

 private:
  void write(const std::string& text);
  std::string path_;
  std::ofstream out_;
  bool header_ = false;
};

}  // namespace graphrun
