#include "train/feed.hpp"

#include <algorithm>
#include <cstring>

namespace graphrun {

void feed_batch(const Model& model, Plan& plan, const data::Batch& batch) {
  for (int id : model.graph_inputs()) {
    const std::string& f = model.nodes()[size_t(id)].feed;
    const std::vector<float>& src = f == "right" ? batch.right : f == "label" ? batch.label : f == "class" ? batch.klass : batch.left;
    const int64_t rows = batch.size;
    const size_t per = (f == "label" || f == "class") ? 1 : src.size() / size_t(std::max<int64_t>(rows, 1));
    float* dst = plan.input(id).data();
#pragma omp parallel for schedule(static) if (rows * int64_t(per) >= (1 << 14))
    for (int64_t r = 0; r < rows; ++r)
      std::memcpy(dst + size_t(r) * per, src.data() + size_t(r) * per, per * sizeof(float));
  }
}

}  // namespace graphrun
