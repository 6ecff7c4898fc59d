// One way to spread a loop over the OpenMP threads: [0, items) cut into one contiguous range per
// thread. The layer, dropout and convolution loops run through it (the optimizer engine keeps
// its own, whose cuts are aligned to cache lines). Internal linkage, like the engines that
// include it.
#pragma once
#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace fusednn::cpu {
namespace {

inline int max_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// Whether the caller already runs on a thread of a team (a nested team would get one thread).
inline bool in_parallel() {
#ifdef _OPENMP
  return omp_in_parallel() != 0;
#else
  return false;
#endif
}

// body(thread, lo, hi) on disjoint ranges covering [0, items), one per thread of a team of
// `threads` (1: the calling thread does it all). `thread` is below `threads`.
template <class Body>
void parallel_ranges(int64_t items, int threads, const Body& body) {
#ifdef _OPENMP
  if (threads > 1) {
#pragma omp parallel num_threads(threads)
    {
      const int64_t t = omp_get_thread_num(), n = omp_get_num_threads();
      body(int(t), items * t / n, items * (t + 1) / n);
    }
    return;
  }
#endif
  (void)threads;
  body(0, int64_t(0), items);
}

}  // namespace
}  // namespace fusednn::cpu
