#pragma once
// GRAPHRUN_TARGET_CLONES("avx2", "default") before a function compiles it once per
// instruction set, the best picked when the library loads (GCC's target_clones: an ifunc
// resolver per function). Under ThreadSanitizer the resolvers are instrumented, and the
// dynamic loader runs them before TSan's runtime has started: the TSan build crashed while
// loading libgraphrun.so. There each function is compiled once, for the baseline.
#if defined(__SANITIZE_THREAD__)
#define GRAPHRUN_NO_TARGET_CLONES
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GRAPHRUN_NO_TARGET_CLONES
#endif
#endif

#ifdef GRAPHRUN_NO_TARGET_CLONES
#define GRAPHRUN_TARGET_CLONES(...)
#else
#define GRAPHRUN_TARGET_CLONES(...) __attribute__((target_clones(__VA_ARGS__)))
#endif
