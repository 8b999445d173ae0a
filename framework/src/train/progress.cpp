#include "train/progress.hpp"

#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <unistd.h>

namespace graphrun {

Progress::Progress(bool enabled, int64_t epoch, int64_t epochs, int64_t steps)
    : enabled_(enabled), live_(enabled && isatty(fileno(stderr))), epoch_(epoch), epochs_(epochs), steps_(steps),
      start_(std::chrono::steady_clock::now()), last_(start_) {}

void Progress::update(int64_t step, double loss, double accuracy) {
  if (!live_) return;
  const auto now = std::chrono::steady_clock::now();
  if (step != steps_ && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  const int width = 30, done = int(width * step / std::max<int64_t>(steps_, 1));
  std::string bar(size_t(done), '=');
  if (done < width) bar += '>' + std::string(size_t(width - done - 1), '.');
  const double secs = std::chrono::duration<double>(now - start_).count();
  std::fprintf(stderr, "\rEpoch %lld/%lld %5lld/%lld [%s] %.1fs - loss: %.4f", (long long)epoch_, (long long)epochs_,
               (long long)step, (long long)steps_, bar.c_str(), secs, loss);
  if (!std::isnan(accuracy)) std::fprintf(stderr, " - accuracy: %.4f", accuracy);
}

void Progress::finish(const std::map<std::string, double>& figures, double seconds) {
  if (!enabled_) return;
  if (live_) std::fprintf(stderr, "\r\033[K");
  std::fprintf(stderr, "Epoch %lld/%lld %lld steps %.2fs", (long long)epoch_, (long long)epochs_, (long long)steps_, seconds);
  // The loss first, as on the live bar, then the other figures in name order.
  if (auto it = figures.find("loss"); it != figures.end()) std::fprintf(stderr, " - loss: %.4f", it->second);
  for (const auto& [name, value] : figures)
    if (name != "loss" && !std::isnan(value)) std::fprintf(stderr, " - %s: %.4f", name.c_str(), value);
  std::fprintf(stderr, "\n");
}

}  // namespace graphrun
