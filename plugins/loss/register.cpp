// The loss family: scalar objectives (the batch mean) the executor differentiates.
#include <graphrun/registry.hpp>

namespace graphrun::loss {
OpInfo binary_crossentropy_op();
OpInfo contrastive_loss_op();
OpInfo categorical_crossentropy_op();
OpInfo cosface_loss_op();
OpInfo loss_sum_op();
OpInfo multi_similarity_loss_op();
OpInfo prototypical_loss_op();
OpInfo triplet_loss_op();
}  // namespace graphrun::loss

namespace {
void register_ops(graphrun::Registry& r) {
  using namespace graphrun::loss;
  r.add(binary_crossentropy_op());
  r.add(contrastive_loss_op());
  r.add(categorical_crossentropy_op());
  r.add(cosface_loss_op());
  r.add(loss_sum_op());
  r.add(multi_similarity_loss_op());
  r.add(prototypical_loss_op());
  r.add(triplet_loss_op());
}
}  // namespace

GRAPHRUN_PLUGIN(register_ops)
