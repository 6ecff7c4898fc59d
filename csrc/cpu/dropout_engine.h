// ============================================================================================
// The one CPU dropout engine. Work is cut into 32-element chunks (8 Philox blocks); threads
// take contiguous runs of whole chunks, so a chunk's words never depend on who computes it.
// Gen::chunk32 produces the 32 stream words of a chunk (scalar: one block at a time; AVX2:
// eight blocks in the lanes of one vector); the last partial chunk always goes through the
// scalar block function, which is bit-identical.
//
// Included by exactly one translation unit per backend; internal linkage throughout.
// ============================================================================================
#pragma once
#include <cstdint>

#include "cpu/dropout_kernels.h"
#include "fusednn/philox.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace fusednn::cpu {
namespace {

constexpr int64_t kChunk = 32;
// Below this many elements one thread does it all.
constexpr int64_t kDropoutParallelMin = int64_t(1) << 16;

template <class Body>
void for_each_chunk_range(int64_t chunks, int64_t elements, const Body& body) {
#ifdef _OPENMP
#pragma omp parallel if (elements >= kDropoutParallelMin)
  {
    const int64_t n = omp_get_num_threads(), t = omp_get_thread_num();
    body(chunks * t / n, chunks * (t + 1) / n);
  }
#else
  (void)elements;
  body(int64_t(0), chunks);
#endif
}

inline void scalar_words(uint32_t* words, uint64_t seed, uint64_t offset, int64_t first,
                         int64_t count) {
  for (int64_t k = 0; k < count; k += 4) {
    const Philox4 r = philox_block(seed, offset, uint64_t(first + k) / 4);
    for (int w = 0; w < 4 && k + w < count; ++w) words[k + w] = r.v[w];
  }
}

template <class Gen>
void dropout(const float* x, float* y, int64_t n, const DropoutParams& d) {
  const int64_t full = n / kChunk;
  for_each_chunk_range(full, n, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) Gen::dropout32(x + c * kChunk, y + c * kChunk, c * kChunk, d);
  });
  uint32_t words[kChunk];
  const int64_t done = full * kChunk;
  scalar_words(words, d.seed, d.offset, done, n - done);
  for (int64_t i = done; i < n; ++i) y[i] = dropout_one(x[i], words[i - done], d);
}

template <class Gen>
void philox(uint32_t* out, int64_t n, uint64_t seed, uint64_t offset) {
  const int64_t full = n / kChunk;
  for_each_chunk_range(full, n, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) Gen::words32(out + c * kChunk, seed, offset, c * kChunk);
  });
  scalar_words(out + full * kChunk, seed, offset, full * kChunk, n - full * kChunk);
}

template <class Gen>
constexpr DropoutKernels make_dropout_kernels() {
  return DropoutKernels{&dropout<Gen>, &philox<Gen>};
}

}  // namespace
}  // namespace fusednn::cpu
