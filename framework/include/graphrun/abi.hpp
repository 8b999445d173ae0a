#pragma once

// Bumped whenever a header in this folder changes in a way that breaks binary
// compatibility (class layout, virtual functions, function signatures). The loader
// refuses a plugin whose recorded version differs.
#define GRAPHRUN_ABI_VERSION 11
// Update together with GRAPHRUN_ABI_VERSION: FNV-1a of the version and of every header in
// this folder with comments, blank lines and spacing left out (tests/framework/test_abi.cpp).
// That test fails when the headers change and prints the version and checksum to paste.
#define GRAPHRUN_SDK_HEADERS_CHECKSUM "4ae255bd66c3b55c"
