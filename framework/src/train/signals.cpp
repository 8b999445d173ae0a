#include "train/signals.hpp"

#include <atomic>

namespace graphrun {

namespace {

// Lock-free, hence safe to store from a handler; the first signal wins.
std::atomic<int> g_signal{0};
static_assert(std::atomic<int>::is_always_lock_free);

extern "C" void record_signal(int sig) {
  int none = 0;
  g_signal.compare_exchange_strong(none, sig);
}

bool install(int sig, struct sigaction& old) {
  if (sigaction(sig, nullptr, &old) != 0 || old.sa_handler == SIG_IGN) return false;
  struct sigaction sa {};
  sa.sa_handler = record_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // reads and writes carry on; the loop looks at the flag itself
  return sigaction(sig, &sa, nullptr) == 0;
}

}  // namespace

InterruptGuard::InterruptGuard() {
  g_signal = 0;
  int_ = install(SIGINT, old_int_);
  term_ = install(SIGTERM, old_term_);
}

InterruptGuard::~InterruptGuard() {
  // After a signal the handler stays: the process is on its way out, and a second Ctrl-C
  // must not kill it before it has said how to resume.
  if (g_signal.load() != 0) return;
  if (int_) sigaction(SIGINT, &old_int_, nullptr);
  if (term_) sigaction(SIGTERM, &old_term_, nullptr);
}

int InterruptGuard::pending() const { return g_signal.load(); }

}  // namespace graphrun
