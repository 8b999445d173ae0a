#include <graphrun/error.hpp>
#include <graphrun/registry.hpp>

#include <algorithm>

namespace graphrun {
namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

void Registry::add(OpInfo info) {
  if (info.name.empty() || !info.make) throw Error("a plugin registered an op without a name or factory");
  info.library = current_library_;
  if (info.batch_dependent_shape && info.batch_mixing != BatchMixing::always)
    throw Error("op '" + info.name + "' (" + info.library + ") declares a batch-dependent shape, so each output reads "
                "the whole batch: its batch_mixing must be `always`");
  auto it = ops_.find(info.name);
  if (it != ops_.end())
    throw Error("op '" + info.name + "' is registered twice: by " + it->second.library + " and by " + info.library);
  ops_.emplace(info.name, std::move(info));
}

const OpInfo* Registry::find(const std::string& name) const {
  auto it = ops_.find(name);
  return it == ops_.end() ? nullptr : &it->second;
}

std::string Registry::nearest(const std::string& name) const {
  std::string best;
  size_t best_d = SIZE_MAX;
  for (const auto& [op, info] : ops_) {
    size_t d = edit_distance(name, op);
    if (d < best_d) best_d = d, best = op;
  }
  return best;
}

}  // namespace graphrun
