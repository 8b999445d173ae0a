#include "train/thread_governor.hpp"

#include "train/threads.hpp"

#include <algorithm>
#include <cstdio>

namespace graphrun {
namespace {

double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + long(v.size() / 2), v.end());
  return v[v.size() / 2];
}

}  // namespace

ThreadGovernor::ThreadGovernor(int threads, bool adaptive, bool verbose)
    : adaptive_(adaptive && threads > 1), verbose_(verbose), high_(threads), low_(std::max(1, threads / 2)),
      current_(threads), home_(threads) {}

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
    // A step far slower than the usual ones: the machine may have become busy. The window no
    // longer says how fast this count is now: measure it afresh, then look at the other.
    if (full && seconds > 3 * median(window_)) {
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
  if (probe_.size() < size_t(kProbe)) return;
  probing_ = false;
  since_probe_ = 0;
  const double here = median(window_), there = median(probe_);
  if (there < kGain * here) {
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
