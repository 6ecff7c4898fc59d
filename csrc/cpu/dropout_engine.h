// ============================================================================================
// The one CPU dropout engine. Work is cut into chunks of 8 Philox blocks (32 stream words, 64
// dropout elements); threads take contiguous runs of whole chunks, so a chunk's bits never
// depend on who computes it. Gen::words32 produces a chunk's 32 words (scalar: one block at
// a time; AVX2: eight blocks in the lanes of one vector) and Gen::dropout64 applies a chunk;
// the last partial chunk always goes through the scalar block function, which is
// bit-identical.
//
// Included by exactly one translation unit per backend; internal linkage throughout.
// ============================================================================================
#pragma once
#include <cstdint>

#include "cpu/dropout_kernels.h"
#include "cpu/parallel.h"
#include "fusednn/philox.h"


namespace fusednn::cpu {
namespace {

constexpr int64_t kWordChunk = 32;     // stream words per chunk (8 blocks)
constexpr int64_t kElementChunk = 64;  // dropout elements per chunk (16 bits each)
// Below this many elements one thread does it all.
constexpr int64_t kDropoutParallelMin = int64_t(1) << 16;

// Words [first, first + count) of the stream, one block at a time.
inline void scalar_words(uint32_t* words, uint64_t seed, uint64_t offset, int64_t first,
                         int64_t count) {
  for (int64_t k = 0; k < count; k += 4) {
    const Philox4 r = philox_block(seed, offset, uint64_t(first + k) / 4);
    for (int w = 0; w < 4 && k + w < count; ++w) words[k + w] = r.v[w];
  }
}

// Elements [first, first + count) of a dropout, first a multiple of 8, one block at a time.
inline void scalar_dropout(const float* x, float* y, int64_t first, int64_t count,
                           const DropoutParams& d) {
  for (int64_t k = 0; k < count; k += 8) {
    const Philox4 r = philox_block(d.seed, d.offset, uint64_t(first + k) / 8);
    for (int e = 0; e < 8 && k + e < count; ++e) y[k + e] = dropout_one(x[k + e], draw16(r, e), d);
  }
}

template <class Gen>
void dropout(const float* x, float* y, int64_t n, const DropoutParams& d) {
  const int64_t full = n / kElementChunk;
  const int threads = n >= kDropoutParallelMin ? max_threads() : 1;
  parallel_ranges(full, threads, [&](int, int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      Gen::dropout64(x + c * kElementChunk, y + c * kElementChunk, c * kElementChunk, d);
    }
  });
  const int64_t done = full * kElementChunk;
  scalar_dropout(x + done, y + done, done, n - done, d);
}

template <class Gen>
void philox(uint32_t* out, int64_t n, uint64_t seed, uint64_t offset) {
  const int64_t full = n / kWordChunk;
  const int threads = n >= kDropoutParallelMin ? max_threads() : 1;
  parallel_ranges(full, threads, [&](int, int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) Gen::words32(out + c * kWordChunk, seed, offset, c * kWordChunk);
  });
  scalar_words(out + full * kWordChunk, seed, offset, full * kWordChunk, n - full * kWordChunk);
}

template <class Gen>
constexpr DropoutKernels make_dropout_kernels() {
  return DropoutKernels{&dropout<Gen>, &philox<Gen>};
}

}  // namespace
}  // namespace fusednn::cpu
