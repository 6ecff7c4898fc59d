// The scalar reference's "vector" policy: width 1, plain float through fusednn/vec_scalar.h.
// The engines (optim_engine.h, act_engine.h) are written against this interface; its AVX2
// twin is Avx2Vec in vec_avx2.h. Internal linkage, like everything an engine instantiates.
#pragma once
#include <cstdint>

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
  static FUSEDNN_INLINE float hsum(V v) { return v; }

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
}  // namespace fusednn::cpu
