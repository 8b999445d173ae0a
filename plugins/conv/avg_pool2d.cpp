// avg_pool2d: Keras AveragePooling2D. With padding same, border windows average only the
// pixels inside the image, as TensorFlow does (oneDNN's exclude_padding).
#include "pool2d.hpp"

namespace graphrun::conv {

OpInfo avg_pool2d_op() {
  OpInfo op;
  op.name = "avg_pool2d";
  op.batch_mixing = BatchMixing::none;
  op.description = "2-D average pooling (Keras AveragePooling2D) on [channels, height, width]";
  op.attrs = pool2d_attrs();
  op.make = [](const Attributes& a) {
    return make_pool2d(a, dnnl::algorithm::pooling_avg_exclude_padding, "avg_pool2d");
  };
  return op;
}

}  // namespace graphrun::conv
