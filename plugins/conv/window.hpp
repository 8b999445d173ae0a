#pragma once
// Keras window geometry (Conv2D, MaxPooling2D, AveragePooling2D) along one spatial axis,
// shared by the convolution and pooling nodes of this family.
#include <graphrun/attributes.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace graphrun::conv {

struct Window {
  int64_t out = 0;    // output size; <= 0 means the input is too small
  int64_t pad_l = 0;  // oneDNN padding_l / padding_r
  int64_t pad_r = 0;
};

// valid: no padding, out = floor((in - k) / s) + 1 (oneDNN accepts the unused remainder).
// same: out = ceil(in / s), padding split with the extra pixel on the right/bottom, as
// TensorFlow does (asymmetric when the total is odd).
inline Window keras_window(int64_t in, int64_t k, int64_t s, bool same) {
  Window w;
  if (!same) {
    w.out = in >= k ? (in - k) / s + 1 : 0;
    return w;
  }
  w.out = (in + s - 1) / s;
  const int64_t total = std::max<int64_t>((w.out - 1) * s + k - in, 0);
  w.pad_l = total / 2;
  w.pad_r = total - w.pad_l;
  return w;
}

// How many leading input positions the windows cover (valid windows with a remainder leave
// the last ones unread).
inline int64_t window_reach(const Window& w, int64_t in, int64_t k, int64_t s) {
  return std::min(in, (w.out - 1) * s + k - w.pad_l);
}

// A positive pair [h, w] from an attribute written as n or [h, w].
inline std::vector<int64_t> positive_pair(const Attributes& a, const std::string& name,
                                          std::vector<int64_t> fallback) {
  std::vector<int64_t> v = a.integers(name, std::move(fallback), 2);
  if (v.empty()) a.fail(name, "is required (an integer or [height, width])");
  if (v.size() != 2) a.fail(name, "expects an integer or [height, width], got " + std::to_string(v.size()) + " values");
  for (int64_t x : v)
    if (x <= 0) a.fail(name, "must be positive, got " + std::to_string(x));
  return v;
}

}  // namespace graphrun::conv
