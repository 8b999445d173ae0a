#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "train/threads.hpp"

int main(int argc, char** argv) {
  // Test graphs are tiny: one thread is faster than two and immune to a busy machine.
  graphrun::set_threads(1);
  doctest::Context context(argc, argv);
  return context.run();
}
