#include "exec/memory_check.hpp"

#include <graphrun/error.hpp>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

namespace graphrun {
namespace {

// In double: a silly shape must give a silly figure, not an int64 overflow.
double floats(const Shape& dims) {
  double n = 1;
  for (auto d : dims) n *= double(d);
  return n;
}

std::string gb(double bytes) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.1f GB", bytes / double(1ull << 30));
  return buf;
}

uint64_t read_number(const std::string& path) {  // 0 when absent or not a number ("max")
  std::ifstream f(path);
  uint64_t v = 0;
  return (f >> v) ? v : 0;
}

}  // namespace

uint64_t machine_memory_bytes() {
  uint64_t total = 0;
  std::ifstream meminfo("/proc/meminfo");
  for (std::string line; std::getline(meminfo, line);)
    if (line.rfind("MemTotal:", 0) == 0) {
      std::istringstream in(line.substr(9));
      uint64_t kb = 0;
      if (in >> kb) total = kb * 1024;
    }
  if (total == 0) {
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    if (pages > 0 && page > 0) total = uint64_t(pages) * uint64_t(page);
  }
  for (const char* limit : {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
    const uint64_t v = read_number(limit);
    if (v > 0 && (total == 0 || v < total)) total = v;
  }
  return total;
}

void check_param_memory(const std::vector<NodeDef>& nodes, const std::string& file) {
  const double limit = double(machine_memory_bytes());
  if (limit <= 0) return;
  std::map<std::string, bool> seen;  // a shared tower's parameters are one tensor
  double total = 0, largest = 0;
  const NodeDef* at = nullptr;
  std::string name;
  Shape dims;
  for (const auto& d : nodes)
    for (const auto& s : d.specs) {
      if (!seen.emplace(d.param_prefix + "/" + s.name, true).second) continue;
      const bool grad = d.trainable && s.kind == ParamSpec::Kind::weight;
      const double bytes = floats(s.dims) * sizeof(float) * (grad ? 2 : 1);
      total += bytes;
      if (bytes > largest) largest = bytes, at = &d, name = d.param_prefix + "/" + s.name, dims = s.dims;
    }
  if (total <= limit) return;
  throw Error((at->where.empty() ? file : at->where) + ": node '" + at->name + "' (" + at->op + "): the parameters need " +
              gb(total) + " (values and gradients), more than the " + gb(limit) + " of memory of this machine; the largest is '" +
              name + "' " + to_string(dims) + " at " + gb(largest));
}

void check_plan_memory(const Model& model, int64_t batch, const std::vector<bool>& backward) {
  const double limit = double(machine_memory_bytes());
  if (limit <= 0) return;
  double params = 0;
  for (const auto& p : model.params()) params += floats(p.spec.dims) * sizeof(float) * (p.trainable ? 2 : 1);
  double total = 0, largest = 0;
  const NodeDef* at = nullptr;
  for (size_t i = 0; i < model.nodes().size(); ++i) {
    const NodeDef& d = model.nodes()[i];
    if (d.role == NodeDef::Role::split) continue;  // a view of its input
    const double bytes = double(batch) * double(d.batch_factor) * floats(resolve_batch(d.shape, batch)) * sizeof(float) *
                         (backward[i] ? 2 : 1);
    total += bytes;
    if (bytes > largest) largest = bytes, at = &d;
  }
  if (total + params <= limit || !at) return;
  throw Error((at->where.empty() ? model.spec().file : at->where) + ": a batch of " + std::to_string(batch) + " needs " + gb(total) +
              " of activations" + (params > 0 ? " (and " + gb(params) + " of parameters)" : "") + ", more than the " + gb(limit) +
              " of memory of this machine; the largest is node '" + at->name + "' (" + at->op + ") with " + to_string(at->shape) +
              " per example, " + gb(largest) + " (try a smaller batch_size or layer)");
}

}  // namespace graphrun
