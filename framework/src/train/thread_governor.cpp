#include "train/thread_governor.hpp"

#include "train/threads.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

namespace graphrun {
namespace {

double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + long(v.size() / 2), v.end());
  return v[v.size() / 2];
}

}  // namespace

// Cores other processes kept busy over a short look at /proc/stat (-1 where it cannot be read).
double busy_cores_elsewhere() {
  auto sample = [](uint64_t& busy, uint64_t& total) {
    std::FILE* f = std::fopen("/proc/stat", "r");
    if (!f) return false;
    unsigned long long v[8] = {};
    const int n = std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
    std::fclose(f);
    if (n < 5) return false;
    total = 0;
    for (auto x : v) total += x;
    busy = total - v[3] - v[4];  // all but idle and iowait
    return true;
  };
  uint64_t b0, t0, b1, t1;
  if (!sample(b0, t0)) return -1;
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  if (!sample(b1, t1) || t1 <= t0) return -1;
  const double cores = std::max(1u, std::thread::hardware_concurrency());
  return cores * double(b1 - b0) / double(t1 - t0);  // this process sleeps meanwhile
}

ThreadGovernor::ThreadGovernor(int threads, bool adaptive, bool verbose, double busy_elsewhere)
    : adaptive_(adaptive && threads > 1), verbose_(verbose), high_(threads), low_(std::max(1, threads / 2)),
      current_(threads), home_(threads) {
  if (!adaptive_) return;
  // Start where the free cores say; the probes correct a wrong start either way.
  const double busy = busy_elsewhere < 0 ? busy_cores_elsewhere() : busy_elsewhere;
  const double free = double(std::max(1u, std::thread::hardware_concurrency())) - busy;
  if (busy >= 0 && free < double(high_) - 0.5) {
    home_ = low_;
    switch_to(low_);
    if (verbose_)
      std::fprintf(stderr, "graphrun: note: other processes keep %.1f cores busy: starting with %d compute thread%s\n", busy,
                   low_, low_ > 1 ? "s" : "");
  }
}

void ThreadGovernor::switch_to(int threads) {
  current_ = threads;
  set_threads(threads);
}

void ThreadGovernor::after_step(double seconds) {
  if (!adaptive_) return;
  if (!probing_) {
    window_.push_back(seconds);
    if (window_.size() > size_t(kWindow)) window_.erase(window_.begin());
    ++since_probe_;
    const bool full = window_.size() == size_t(kWindow);
    // A step far slower than the usual ones at every thread: the machine may have become
    // busy. The window no longer says how fast this count is now: measure it afresh, then
    // look at the other. At fewer threads a slow step says nothing of the kind (a thread
    // sharing a core with others is preempted now and then), and probing the full count on
    // each such step made an epoch beside two busy processes twice as slow as staying put;
    // the periodic probes find the cores once they are free.
    if (full && home_ == high_ && seconds > 3 * median(window_)) {
      window_.assign(1, seconds);
      pending_ = true;
    }
    if ((full && since_probe_ >= interval_) || (pending_ && window_.size() >= size_t(kProbe))) {
      pending_ = false;
      probing_ = true;
      probe_.clear();
      skip_ = 1;  // the first step at the other count also creates its primitives
      switch_to(home_ == high_ ? low_ : high_);
    }
    return;
  }
  if (skip_ > 0) {
    --skip_;
    return;
  }
  probe_.push_back(seconds);
  // A probe step far slower than the usual ones settles it: more of them would only cost.
  const bool hopeless = seconds > 2 * median(window_);
  if (probe_.size() < size_t(kProbe) && !hopeless) return;
  probing_ = false;
  since_probe_ = 0;
  const double here = median(window_), there = median(probe_);
  if (!hopeless && there < kGain * here) {
    if (verbose_ && !noted_)
      std::fprintf(stderr, "\ngraphrun: note: %d compute thread%s ran steps %.1fx faster than %d (other processes are %s the cores): using %d\n",
                   current_, current_ > 1 ? "s" : "", here / there, home_, current_ < home_ ? "using" : "no longer using",
                   current_);
    if (verbose_ && !noted_)
      std::fprintf(stderr, "graphrun: note: the thread count follows the machine's load from here on, silently (--threads N fixes it)\n");
    noted_ = true;
    ++switches_;
    home_ = current_;
    window_ = probe_;
    interval_ = kFirstProbe;
  } else {
    switch_to(home_);
    interval_ = std::min<int64_t>(2 * interval_, kMaxInterval);
  }
}

}  // namespace graphrun
