#include "train/history.hpp"

#include <graphrun/error.hpp>

#include <filesystem>
#include <sstream>

namespace graphrun {

namespace {

std::string header_line(const EpochRecord& r) {
  std::string h = "epoch";
  for (const auto& [k, v] : r.figures) h += "," + k;
  return h + ",learning_rate,seconds\n";
}

// The stream's default formatting (6 significant digits), as the file has always had.
std::string row_line(const EpochRecord& r) {
  std::ostringstream row;
  row << r.epoch;
  for (const auto& [k, v] : r.figures) row << "," << v;
  row << "," << r.learning_rate << "," << r.seconds << "\n";
  return row.str();
}

}  // namespace

History::History(std::string path, const std::vector<EpochRecord>& kept) : path_(std::move(path)) {
  namespace fs = std::filesystem;
  size_t keep = 0;     // bytes of the file kept
  size_t rows = 0;     // rows among them
  if (!kept.empty()) {
    std::ifstream in(path_, std::ios::binary);
    std::ostringstream all;
    all << in.rdbuf();
    const std::string text = all.str();
    // Whole lines only: a row cut short by a kill is dropped and written again.
    for (size_t at = text.find('\n'); at != std::string::npos && rows < kept.size(); at = text.find('\n', at + 1)) {
      if (header_) ++rows;
      header_ = true;
      keep = at + 1;
    }
  }
  std::error_code ec;
  if (keep > 0) fs::resize_file(path_, keep, ec);
  if (ec) throw Error(path_ + ": cannot shorten the training history to the checkpoint's epochs (" + ec.message() + ")");
  out_.open(path_, keep > 0 ? std::ios::app : std::ios::trunc);
  if (!out_) throw Error(path_ + ": cannot write the training history");
  for (size_t i = rows; i < kept.size(); ++i) append(kept[i]);
}

void History::append(const EpochRecord& r) {
  if (!header_) write(header_line(r));
  header_ = true;
  write(row_line(r));
}

void History::write(const std::string& text) {
  out_ << text;
  out_.flush();
  if (!out_) throw Error(path_ + ": writing the training history failed (disk full?)");
}

}  // namespace graphrun
