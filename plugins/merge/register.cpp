// The merge family: ops that combine the two branches of a pair model.
#include <graphrun/registry.hpp>

namespace graphrun::merge {
OpInfo concat_op();
OpInfo subtract_op();
OpInfo l1_distance_op();
OpInfo euclidean_distance_op();
OpInfo product_sum_op();
OpInfo cosine_similarity_op();
OpInfo pairwise_distance_op();
}  // namespace graphrun::merge

namespace {
void register_ops(graphrun::Registry& r) {
  using namespace graphrun::merge;
  r.add(concat_op());
  r.add(subtract_op());
  r.add(l1_distance_op());
  r.add(euclidean_distance_op());
  r.add(product_sum_op());
  r.add(cosine_similarity_op());
  r.add(pairwise_distance_op());
}
}  // namespace

GRAPHRUN_PLUGIN(register_ops)
