// The plain table of pointers a CPU kernel walks: N tensors, each a contiguous float32 run,
// seen through up to 2 + kMaxStates streams (param, grad, optimizer states). A flat arena is
// the same table with N = 1. Plain C arrays only: this header is read by the AVX2 translation
// unit, which must not instantiate any std:: code the portable path could end up linked to.
#pragma once
#include <cstdint>

namespace fusednn::cpu {

constexpr int kMaxStates = 3;

struct TensorTable {
  int64_t num_tensors;
  const int64_t* offsets;  // num_tensors + 1 prefix sums of the element counts
  float* const* params;
  const float* const* grads;
  float* const* states[kMaxStates];
};

}  // namespace fusednn::cpu
