#pragma once
// SIGINT and SIGTERM during training. The handler only records the signal: the training
// loop looks after each step, writes the checkpoint and ends the run by throwing
// Interrupted, so a second signal while saving cannot cut the file short.
#include <csignal>
#include <cstdint>

namespace graphrun {

// Thrown by Session::train once last.safetensors holds the interrupted run. Not an Error:
// nothing went wrong, and a sweep's per-point error handling must not swallow it.
struct Interrupted {
  int signal;    // SIGINT or SIGTERM; the process should exit with 128 + signal
  int64_t epoch;  // 1-based: the epoch of the last step done
  int64_t step;   // steps of that epoch done
};

// Catches SIGINT and SIGTERM for its lifetime, then puts the previous handlers back (unless
// one came: the process is then ending). A signal the process was started ignoring (a
// background job of a shell script ignores SIGINT) stays ignored.
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
  // The first signal received since construction, 0 if none.
  int pending() const;

 private:
  struct sigaction old_int_ {}, old_term_ {};
  bool int_ = false, term_ = false;
};

}  // namespace graphrun
