// max_pool2d: Keras MaxPooling2D. Padded positions never win (oneDNN pads with -inf).
#include "pool2d.hpp"

namespace graphrun::conv {

OpInfo max_pool2d_op() {
  OpInfo op;
  op.name = "max_pool2d";
  op.batch_mixing = BatchMixing::none;
  op.description = "2-D max pooling (Keras MaxPooling2D) on [channels, height, width]";
  op.attrs = pool2d_attrs();
  op.make = [](const Attributes& a) { return make_pool2d(a, dnnl::algorithm::pooling_max, "max_pool2d"); };
  return op;
}

}  // namespace graphrun::conv
