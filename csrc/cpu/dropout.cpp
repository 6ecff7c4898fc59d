#include "cpu/dropout.h"

#include <stdexcept>

#include "cpu/dispatch.h"
#include "fusednn/philox.h"

namespace fusednn::cpu {

void dropout(uintptr_t x, uintptr_t y, int64_t n, double p, uint64_t seed, uint64_t offset) {
  if (!(p >= 0.0 && p <= 1.0)) throw std::invalid_argument("p must be in [0, 1]");
  if (n < 0) throw std::invalid_argument("negative size");
  if (n == 0) return;
  dropout_kernels().dropout(reinterpret_cast<const float*>(x), reinterpret_cast<float*>(y), n,
                            make_dropout_params(p, seed, offset));
}

void philox(uintptr_t out, int64_t n, uint64_t seed, uint64_t offset) {
  if (n < 0) throw std::invalid_argument("negative size");
  if (n == 0) return;
  dropout_kernels().philox(reinterpret_cast<uint32_t*>(out), n, seed, offset);
}

}  // namespace fusednn::cpu
