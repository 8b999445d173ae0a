// R4 (graphs/r4_conv_siamese.yaml: batch norm, convolutions, average pooling, Euclidean
// distance) against PyTorch: forward output, loss, gradients, every parameter and every
// batch-norm moving statistic after one RMSprop step agree to 1e-4 relative.
#include "parity.hpp"

using namespace graphrun;

TEST_CASE("parity: R4 convolutional Siamese network, one RMSprop step, matches PyTorch") {
  REQUIRE_MESSAGE(parity::have_torch(), "/usr/bin/python3 cannot import torch: install Debian's python3-torch (tools/setup.sh does)");
  parity::StepFiles f = parity::step_files("r4");
  const auto mine = parity::graphrun_step(std::string(GRAPHRUN_SOURCE_DIR) + "/graphs/r4_conv_siamese.yaml", 16, f);
  CHECK(mine.count("param/tower/batch_norm_1/moving_variance"));
  const auto theirs = parity::torch_step("r4", f, f.dir + "/torch.safetensors");
  parity::check_parity(mine, theirs);

  // The shared tower's batch-norm statistics are updated once per use of the tower, so
  // they depend on which image goes through it first (Keras: the left one). When they
  // disagree, say whether the other order explains it.
  if (!parity::disagreements(mine, theirs).empty()) {
    const auto swapped = parity::torch_step("r4", f, f.dir + "/torch_right_first.safetensors", "--right-first");
    const auto left = parity::disagreements(mine, swapped);
    std::string names;
    for (const auto& n : left) names += " " + n;
    MESSAGE("with the right image through the tower first, PyTorch disagrees on: "
            << (left.empty() ? std::string(" nothing (graphrun ran the tower use 'b' before 'a')") : names));
  }
}
