#include "train/metrics.hpp"

#include <cmath>
#include <graphrun/error.hpp>

#include <cstdio>

namespace graphrun {

Metrics Metrics::binary(float same_label, bool higher_is_same) {
  Metrics m;
  m.binary_ = true;
  // The output predicts label 1 above 0.5 when label 1 is the side higher outputs stand for.
  m.flip_ = (same_label > 0.5f) != higher_is_same;
  m.same_class_ = same_label > 0.5f ? 1 : 0;
  m.names_ = m.same_class_ == 1 ? std::vector<std::string>{"different", "same"} : std::vector<std::string>{"same", "different"};
  m.confusion_.assign(2, std::vector<int64_t>(2, 0));
  return m;
}

Metrics Metrics::categorical(int classes) {
  Metrics m;
  m.binary_ = false;
  if (classes < 1) return m;  // no confusion matrix: unscored
  for (int c = 0; c < classes; ++c) m.names_.push_back(std::to_string(c));
  m.confusion_.assign(size_t(classes), std::vector<int64_t>(size_t(classes), 0));
  return m;
}

Metrics Metrics::for_output(const Shape& per_sample, float same_label, bool higher_is_same) {
  if (has_batch_dim(per_sample)) return categorical(0);
  if (volume(per_sample) == 1) return binary(same_label, higher_is_same);
  return categorical(int(volume(per_sample)));
}

void Metrics::add_batch(const float* outputs, const float* labels, int64_t count) {
  if (!scored()) return;
  const int classes = static_cast<int>(confusion_.size());
  for (int64_t i = 0; i < count; ++i) {
    int truth, predicted;
    if (binary_) {
      truth = labels[i] > 0.5f ? 1 : 0;
      predicted = (outputs[i] > 0.5f) != flip_ ? 1 : 0;
    } else {
      truth = static_cast<int>(labels[i]);
      const float* row = outputs + i * classes;
      predicted = 0;
      for (int c = 1; c < classes; ++c)
        if (row[c] > row[predicted]) predicted = c;
      if (truth < 0 || truth >= classes) continue;
    }
    confusion_[size_t(truth)][size_t(predicted)]++;
    total_++;
  }
}

double Metrics::accuracy() const {
  if (!scored()) return NAN;
  int64_t right = 0;
  for (size_t c = 0; c < confusion_.size(); ++c) right += confusion_[c][c];
  return total_ ? double(right) / double(total_) : 0;
}

double Metrics::precision(int c) const {
  int64_t predicted = 0;
  for (const auto& row : confusion_) predicted += row[size_t(c)];
  return predicted ? double(confusion_[size_t(c)][size_t(c)]) / double(predicted) : 0;
}

double Metrics::recall(int c) const {
  int64_t actual = 0;
  for (auto v : confusion_[size_t(c)]) actual += v;
  return actual ? double(confusion_[size_t(c)][size_t(c)]) / double(actual) : 0;
}

double Metrics::f1(int c) const {
  const double p = precision(c), r = recall(c);
  return p + r > 0 ? 2 * p * r / (p + r) : 0;
}

Metrics::Sums Metrics::sums() const {
  Sums s{loss_sum_, loss_count_, total_, {}};
  for (const auto& row : confusion_) s.confusion.insert(s.confusion.end(), row.begin(), row.end());
  return s;
}

void Metrics::restore(const Sums& s) {
  const size_t k = confusion_.size();
  if (s.confusion.size() != k * k)
    throw Error("metrics: " + std::to_string(s.confusion.size()) + " confusion counts given for " + std::to_string(k) + " classes");
  loss_sum_ = s.loss_sum;
  loss_count_ = s.loss_count;
  total_ = s.total;
  for (size_t r = 0; r < k; ++r)
    for (size_t c = 0; c < k; ++c) confusion_[r][c] = s.confusion[r * k + c];
}

std::string Metrics::report() const {
  if (!scored()) return "not scored: the output is not one prediction per example\n";
  const size_t k = confusion_.size();
  std::string out = "confusion matrix (rows: true class, columns: predicted class)\n";
  char buf[256];
  std::snprintf(buf, sizeof buf, "%12s", "");
  out += buf;
  for (size_t c = 0; c < k; ++c) std::snprintf(buf, sizeof buf, "%10s", names_[c].c_str()), out += buf;
  out += "\n";
  for (size_t r = 0; r < k; ++r) {
    std::snprintf(buf, sizeof buf, "%12s", names_[r].c_str());
    out += buf;
    for (size_t c = 0; c < k; ++c) std::snprintf(buf, sizeof buf, "%10lld", static_cast<long long>(confusion_[r][c])), out += buf;
    out += "\n";
  }
  std::snprintf(buf, sizeof buf, "\n%12s %10s %10s %10s %10s\n\n", "", "precision", "recall", "f1-score", "support");
  out += buf;
  double macro[3] = {0, 0, 0}, weighted[3] = {0, 0, 0};
  for (size_t c = 0; c < k; ++c) {
    int64_t support = 0;
    for (auto v : confusion_[c]) support += v;
    const double p = precision(int(c)), r = recall(int(c)), f = f1(int(c));
    std::snprintf(buf, sizeof buf, "%12s %10.4f %10.4f %10.4f %10lld\n", names_[c].c_str(), p, r, f, static_cast<long long>(support));
    out += buf;
    macro[0] += p / double(k), macro[1] += r / double(k), macro[2] += f / double(k);
    const double w = total_ ? double(support) / double(total_) : 0;
    weighted[0] += p * w, weighted[1] += r * w, weighted[2] += f * w;
  }
  std::snprintf(buf, sizeof buf, "\n%12s %10s %10s %10.4f %10lld\n", "accuracy", "", "", accuracy(), static_cast<long long>(total_));
  out += buf;
  std::snprintf(buf, sizeof buf, "%12s %10.4f %10.4f %10.4f %10lld\n", "macro avg", macro[0], macro[1], macro[2], static_cast<long long>(total_));
  out += buf;
  std::snprintf(buf, sizeof buf, "%12s %10.4f %10.4f %10.4f %10lld\n", "weighted avg", weighted[0], weighted[1], weighted[2], static_cast<long long>(total_));
  out += buf;
  return out;
}

}  // namespace graphrun
