#pragma once

// Bumped whenever a header in this folder changes in a way that breaks binary
// compatibility (class layout, virtual functions, function signatures). The loader
// refuses a plugin whose recorded version differs.
#define GRAPHRUN_ABI_VERSION 5
