#pragma once
#include <stdexcept>
#include <string>

namespace graphrun {

// Every user-facing failure (bad YAML, bad data, bad plugin, bad shapes) is an Error:
// the CLI prints its message once and exits non-zero.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace graphrun
