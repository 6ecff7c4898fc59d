// Fused optimizers, scalar reference: one element at a time through the shared math of
// optim_math.h. Compiled for baseline x86-64 (no AVX), it is the path on CPUs without
// AVX2+FMA, the readable spec, and the oracle the AVX2 path is tested against.
#include <cstdint>

#include "cpu/optim_engine.h"
#include "fusednn/vec_scalar.h"

namespace fusednn::cpu {
namespace {

struct ScalarVec {
  using V = float;
  static constexpr int kWidth = 1;
  static FUSEDNN_INLINE V load(const float* p) { return *p; }
  static FUSEDNN_INLINE void store(float* p, V v) { *p = v; }
  static FUSEDNN_INLINE V load_partial(const float* p, int) { return *p; }
  static FUSEDNN_INLINE void store_partial(float* p, V v, int) { *p = v; }

  static double sum_squares(const float* x, int64_t n) {
    // Four accumulators so the adds can overlap; double so 50M squares lose nothing.
    double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
      a0 += double(x[i]) * x[i];
      a1 += double(x[i + 1]) * x[i + 1];
      a2 += double(x[i + 2]) * x[i + 2];
      a3 += double(x[i + 3]) * x[i + 3];
    }
    for (; i < n; ++i) a0 += double(x[i]) * x[i];
    return (a0 + a1) + (a2 + a3);
  }
};

}  // namespace

const OptimKernels kScalarOptimKernels = make_optim_kernels<ScalarVec>();

}  // namespace fusednn::cpu
