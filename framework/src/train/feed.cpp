#include "train/feed.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

namespace graphrun {
namespace {

const std::pair<const char*, BatchField> kFeeds[] = {{"left", BatchField::left},
                                                     {"right", BatchField::right},
                                                     {"image", BatchField::left},
                                                     {"label", BatchField::label},
                                                     {"class", BatchField::klass}};

const std::vector<float>& field_of(const data::Batch& b, BatchField f) {
  switch (f) {
    case BatchField::right: return b.right;
    case BatchField::label: return b.label;
    case BatchField::klass: return b.klass;
    case BatchField::left: break;
  }
  return b.left;
}

}  // namespace

std::optional<BatchField> batch_field(const std::string& feed) {
  for (const auto& [name, field] : kFeeds)
    if (feed == name) return field;
  return std::nullopt;
}

const std::string& batch_field_names() {
  static const std::string names = [] {
    std::string s;
    for (const auto& [name, field] : kFeeds) s += (s.empty() ? "" : ", ") + std::string(name);
    return s;
  }();
  return names;
}

bool is_label_field(BatchField f) { return f == BatchField::label || f == BatchField::klass; }

bool is_label_feed(const std::string& feed) {
  const auto f = batch_field(feed);
  return f && is_label_field(*f);
}

bool is_image_feed(const std::string& feed) {
  const auto f = batch_field(feed);
  return f && !is_label_field(*f);
}

int label_input(const Model& model) {
  int label = -1;
  for (int id : model.graph_inputs())
    if (is_label_feed(model.nodes()[size_t(id)].feed)) label = id;
  return label;
}

void feed_batch(const Model& model, Plan& plan, const data::Batch& batch) {
  for (int id : model.graph_inputs()) {
    const BatchField f = batch_field(model.nodes()[size_t(id)].feed).value_or(BatchField::left);
    const std::vector<float>& src = field_of(batch, f);
    const int64_t rows = batch.size;
    const size_t per = is_label_field(f) ? 1 : src.size() / size_t(std::max<int64_t>(rows, 1));
    float* dst = plan.input(id).data();
#pragma omp parallel for schedule(static) if (rows * int64_t(per) >= (1 << 14))
    for (int64_t r = 0; r < rows; ++r)
      std::memcpy(dst + size_t(r) * per, src.data() + size_t(r) * per, per * sizeof(float));
  }
}

}  // namespace graphrun
