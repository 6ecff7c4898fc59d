// The plain table of pointers a CPU kernel walks: N tensors, each a contiguous run of
// parameters P (float, double, Bf16 or Half) with gradients of the same type and optimizer
// state S (float, or double for double parameters), seen through up to 2 + kMaxStates streams.
// A flat arena is the same table with N = 1. Plain C arrays only: this header is read by the
// AVX2 translation unit, which must not instantiate any std:: code the portable path could end
// up linked to.
#pragma once
#include <cstdint>

namespace fusednn::cpu {

constexpr int kMaxStates = 3;

template <class P, class S = float>
struct TensorTableT {
  using Param = P;
  using State = S;
  int64_t num_tensors;
  const int64_t* offsets;  // num_tensors + 1 prefix sums of the element counts
  P* const* params;
  const P* const* grads;
  S* const* states[kMaxStates];
};

using TensorTable = TensorTableT<float>;

}  // namespace fusednn::cpu
