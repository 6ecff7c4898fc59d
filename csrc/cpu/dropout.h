// CPU dropout and Philox entry points the bindings call, on addresses the Python kernel
// front has validated.
#pragma once
#include <cstdint>

namespace fusednn::cpu {

// y = dropout(x) with drop probability p; also the backward, on dy. x and y may be the same.
void dropout(uintptr_t x, uintptr_t y, int64_t n, double p, uint64_t seed, uint64_t offset);

void philox(uintptr_t out, int64_t n, uint64_t seed, uint64_t offset);

}  // namespace fusednn::cpu
