#pragma once
// L2 regularisation (a parameter's `l2`), both halves in one place: the gradient training
// adds before the optimizer step and the term added to the reported loss, as Keras does.
#include "graph/model.hpp"

#include <vector>

namespace graphrun {

// g += 2 * l2 * w for every trainable parameter with l2 > 0.
void add_l2_gradients(std::vector<Parameter>& params);

// Sum of l2 * ||w||^2 over parameters, the regularisation term Keras adds to the loss.
double regularization_loss(const std::vector<Parameter>& params);

}  // namespace graphrun
