#pragma once
// Accumulates predictions against labels: accuracy, the confusion matrix and the per-class
// precision / recall / F1 table scikit-learn's classification_report prints.
#include <graphrun/tensor.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace graphrun {

class Metrics {
 public:
  // Binary output (one probability per example): p > 0.5 predicts label 1. Class names
  // follow which label means "same". Categorical output: argmax over `classes` values.
  // higher_is_same: the output is a similarity (above 0.5 predicts "same"), else a
  // distance (below 0.5 predicts "same").
  static Metrics binary(float same_label, bool higher_is_same);
  // A count below 1 is a batch-level output (volume() of a shape holding kBatchDim):
  // unscored, as from for_output.
  static Metrics categorical(int classes);
  // From the output's per-sample shape: [1] binary, [C] categorical; a batch-level shape
  // (kBatchDim: one value per pair of samples of the batch) is not one prediction per
  // example, so it is not scored: add_batch counts nothing, accuracy() is NaN, and only
  // the loss is kept.
  static Metrics for_output(const Shape& per_sample, float same_label, bool higher_is_same);
  bool scored() const { return !confusion_.empty(); }

  void add_batch(const float* outputs, const float* labels, int64_t count);
  void add_loss(double loss, int64_t count) { loss_sum_ += loss * double(count); loss_count_ += count; }

  int64_t count() const { return total_; }
  double loss() const { return loss_count_ ? loss_sum_ / double(loss_count_) : 0; }
  double accuracy() const;
  // Of the class with the given index (for binary graphs use same_class()).
  double precision(int c) const;
  double recall(int c) const;
  double f1(int c) const;
  int same_class() const { return same_class_; }  // -1 for categorical graphs
  const std::vector<std::vector<int64_t>>& confusion() const { return confusion_; }  // [true][predicted]
  const std::vector<std::string>& class_names() const { return names_; }
  std::string report() const;  // confusion matrix + classification report, as text

  // The running sums behind loss() and the confusion matrix (row-major): what a mid-epoch
  // checkpoint keeps, so a resumed epoch reports what an uninterrupted one would.
  struct Sums {
    double loss_sum = 0;
    int64_t loss_count = 0, total = 0;
    std::vector<int64_t> confusion;
  };
  Sums sums() const;
  void restore(const Sums& s);  // throws Error when the confusion matrix has another size

 private:
  bool binary_ = true;
  bool flip_ = false;
  int same_class_ = -1;
  std::vector<std::string> names_;
  std::vector<std::vector<int64_t>> confusion_;
  int64_t total_ = 0;
  double loss_sum_ = 0;
  int64_t loss_count_ = 0;
};

}  // namespace graphrun
