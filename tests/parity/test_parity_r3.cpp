// R3 (the Siamese MLP, without dropout) against PyTorch: forward output, loss, gradients
// and every parameter after one RMSprop step agree to 1e-4 relative.
#include "parity.hpp"

using namespace graphrun;

TEST_CASE("parity: R3 Siamese MLP (no dropout), one RMSprop step, matches PyTorch") {
  REQUIRE_MESSAGE(parity::have_torch(), "/usr/bin/python3 cannot import torch: install Debian's python3-torch (tools/setup.sh does)");
  parity::StepFiles f = parity::step_files("r3");
  const auto mine = parity::graphrun_step(std::string(GRAPHRUN_SOURCE_DIR) + "/tests/parity/graphs/r3_siamese_mlp_no_dropout.yaml", 128, f);
  CHECK(mine.count("param/encoder/dense_1/kernel"));
  const auto theirs = parity::torch_step("r3", f, f.dir + "/torch.safetensors");
  parity::check_parity(mine, theirs);
}
