#include <graphrun/attributes.hpp>
#include <graphrun/error.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

namespace graphrun {
namespace {

bool parse_double(const std::string& s, double& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  out = std::strtod(s.c_str(), &end);
  return errno == 0 && end == s.c_str() + s.size();
}

bool parse_int(const std::string& s, int64_t& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  out = std::strtoll(s.c_str(), &end, 10);
  return errno == 0 && end == s.c_str() + s.size();
}

std::string joined(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& i : items) s += (s.empty() ? "" : ", ") + i;
  return s;
}

}  // namespace

void Attributes::fail(const std::string& name, const std::string& what) const {
  std::string where;
  auto it = values_.find(name);
  if (it != values_.end() && !it->second.where.empty()) where = it->second.where + ": ";
  throw Error(where + "node '" + node_ + "': attribute '" + name + "' " + what);
}

const Attributes::Value& Attributes::require(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw Error("node '" + node_ + "': missing required attribute '" + name + "'");
  return it->second;
}

double Attributes::number(const std::string& name) const {
  const Value& v = require(name);
  double d = 0;
  if (v.is_list || !parse_double(v.items[0], d)) fail(name, "expects a number, got '" + joined(v.items) + "'");
  return d;
}
double Attributes::number(const std::string& name, double fallback) const {
  return has(name) ? number(name) : fallback;
}

int64_t Attributes::integer(const std::string& name) const {
  const Value& v = require(name);
  int64_t i = 0;
  if (v.is_list || !parse_int(v.items[0], i)) fail(name, "expects an integer, got '" + joined(v.items) + "'");
  return i;
}
int64_t Attributes::integer(const std::string& name, int64_t fallback) const {
  return has(name) ? integer(name) : fallback;
}

bool Attributes::boolean(const std::string& name, bool fallback) const {
  if (!has(name)) return fallback;
  const Value& v = require(name);
  const std::string s = v.is_list ? "" : v.items[0];
  if (s == "true" || s == "True" || s == "yes" || s == "1") return true;
  if (s == "false" || s == "False" || s == "no" || s == "0") return false;
  fail(name, "expects true or false, got '" + joined(v.items) + "'");
}

std::string Attributes::text(const std::string& name) const {
  const Value& v = require(name);
  if (v.is_list) fail(name, "expects a single value, got a list");
  return v.items[0];
}
std::string Attributes::text(const std::string& name, const std::string& fallback) const {
  return has(name) ? text(name) : fallback;
}

std::vector<int64_t> Attributes::integers(const std::string& name, std::vector<int64_t> fallback,
                                          size_t repeat) const {
  if (!has(name)) return fallback;
  const Value& v = require(name);
  std::vector<int64_t> out;
  for (const auto& item : v.items) {
    int64_t i = 0;
    if (!parse_int(item, i)) fail(name, "expects integers, got '" + joined(v.items) + "'");
    out.push_back(i);
  }
  if (!v.is_list) out.assign(repeat, out[0]);
  return out;
}

std::vector<double> Attributes::numbers(const std::string& name, std::vector<double> fallback) const {
  if (!has(name)) return fallback;
  const Value& v = require(name);
  std::vector<double> out;
  for (const auto& item : v.items) {
    double d = 0;
    if (!parse_double(item, d)) fail(name, "expects numbers, got '" + joined(v.items) + "'");
    out.push_back(d);
  }
  return out;
}

std::string Attributes::choice(const std::string& name, const std::string& fallback,
                               const std::vector<std::string>& choices) const {
  std::string s = text(name, fallback);
  if (std::find(choices.begin(), choices.end(), s) == choices.end())
    fail(name, "must be one of " + joined(choices) + ", got '" + s + "'");
  return s;
}

}  // namespace graphrun
