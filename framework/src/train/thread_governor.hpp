#pragma once
// Steady under load: on a machine whose cores other processes also use, OpenMP threads
// that wait at every barrier for a descheduled sibling make each step several times
// slower, and fewer threads run faster. The governor measures it: now and then it runs a
// few steps at the other thread count and keeps whichever ran faster.
#include <cstdint>
#include <vector>

namespace graphrun {

class ThreadGovernor {
 public:
  // Not adaptive: always `threads` (an explicit --threads or train.threads: the same seed and
  // thread count give the same run). Adaptive: `threads` and max(1, threads / 2) compete.
  // busy_elsewhere: cores other processes keep busy at the start (negative: measure it).
  ThreadGovernor(int threads, bool adaptive, bool verbose, double busy_elsewhere = -1);

  int threads() const { return current_; }
  int64_t switches() const { return switches_; }
  bool adaptive() const { return adaptive_; }
  // After each training step, its wall time in seconds; may change threads() for the next step.
  void after_step(double seconds);

  static constexpr int kWindow = 16;       // steps whose median stands for a thread count
  static constexpr int kProbe = 8;         // measured steps at the other count (after one unmeasured)
  static constexpr int kFirstProbe = 64;   // steps before the first probe; doubles after each failed one
  static constexpr int kMaxInterval = 2048;
  static constexpr double kGain = 0.85;    // the other count must take at most this share of the time

 private:
  void switch_to(int threads);

  bool adaptive_, verbose_;
  int high_, low_, current_, home_;
  std::vector<double> window_, probe_;  // recent step times at home_, probe step times at current_
  bool probing_ = false, noted_ = false, pending_ = false;
  int64_t switches_ = 0;
  int skip_ = 0;
  int64_t since_probe_ = 0, interval_ = kFirstProbe;
};

}  // namespace graphrun
