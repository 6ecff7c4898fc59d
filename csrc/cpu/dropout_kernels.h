// The table of dropout / Philox kernels one CPU backend provides: the scalar reference
// (dropout_scalar.cpp) and the AVX2 path (dropout_avx2.cpp), bit-identical by construction.
#pragma once
#include <cstdint>

#include "fusednn/philox.h"

namespace fusednn::cpu {

struct DropoutKernels {
  // y[i] = dropout_one(x[i], 16-bit draw i of the stream): the forward, and (applied to dy)
  // the backward, which regenerates the mask.
  void (*dropout)(const float* x, float* y, int64_t n, const DropoutParams& d);
  // The raw stream: out[i] = word i of (seed, offset).
  void (*philox)(uint32_t* out, int64_t n, uint64_t seed, uint64_t offset);
};

extern const DropoutKernels kScalarDropoutKernels;
extern const DropoutKernels kAvx2DropoutKernels;

}  // namespace fusednn::cpu
