// The scalar reference's "vector" policies: width 1, plain float (for float32 parameters and,
// converted on load and store, bfloat16/float16 ones) or plain double (float64 parameters),
// through fusednn/vec_scalar.h. The engines (optim_engine.h, act_engine.h) are written
// against this interface; the AVX2 twins are in vec_avx2.h. Internal linkage, like everything
// an engine instantiates.
#pragma once
#include <cstdint>

#include "cpu/reduced_float.h"
#include "fusednn/vec_scalar.h"

namespace fusednn::cpu {
namespace {

// Sum of squares in double, four accumulators so the adds can overlap; `widen` reads one
// element as a double.
template <class T, class Widen>
double sum_squares_scalar(const T* x, int64_t n, Widen widen) {
  double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const double x0 = widen(x[i]), x1 = widen(x[i + 1]), x2 = widen(x[i + 2]), x3 = widen(x[i + 3]);
    a0 += x0 * x0;
    a1 += x1 * x1;
    a2 += x2 * x2;
    a3 += x3 * x3;
  }
  for (; i < n; ++i) {
    const double v = widen(x[i]);
    a0 += v * v;
  }
  return (a0 + a1) + (a2 + a3);
}

struct ScalarVec {
  using V = float;
  static constexpr int kWidth = 1;
  static FUSEDNN_INLINE V load(const float* p) { return *p; }
  static FUSEDNN_INLINE V load(const Bf16* p) { return to_float(*p); }
  static FUSEDNN_INLINE V load(const Half* p) { return to_float(*p); }
  static FUSEDNN_INLINE void store(float* p, V v) { *p = v; }
  static FUSEDNN_INLINE void store(Bf16* p, V v) { *p = to_bf16(v); }
  static FUSEDNN_INLINE void store(Half* p, V v) { *p = to_half(v); }
  template <class T>
  static FUSEDNN_INLINE V load_partial(const T* p, int) { return load(p); }
  template <class T>
  static FUSEDNN_INLINE void store_partial(T* p, V v, int) { store(p, v); }
  static FUSEDNN_INLINE float hsum(V v) { return v; }
  // Pooling's 2-wide windows (the AVX2 twin takes 16 floats at a time).
  static FUSEDNN_INLINE void load_pairs(const float* p, V& even, V& odd) {
    even = p[0];
    odd = p[1];
  }
  static FUSEDNN_INLINE void store_pairs(float* p, V even, V odd) {
    p[0] = even;
    p[1] = odd;
  }
  static FUSEDNN_INLINE void load_pairs_partial(const float* p, int, V& even, V& odd) {
    load_pairs(p, even, odd);
  }
  static FUSEDNN_INLINE void store_pairs_partial(float* p, V even, V odd, int) {
    store_pairs(p, even, odd);
  }
  static FUSEDNN_INLINE V iota() { return 0.f; }
  static FUSEDNN_INLINE V load_index(const int32_t* p) { return float(*p); }
  static FUSEDNN_INLINE void store_index(int32_t* p, V v) { *p = int32_t(v); }
  static FUSEDNN_INLINE V load_index_partial(const int32_t* p, int) { return load_index(p); }
  static FUSEDNN_INLINE void store_index_partial(int32_t* p, V v, int) { store_index(p, v); }

  // im2col's table lookups: base[*index], or 0 where the index is negative (padding).
  static FUSEDNN_INLINE V gather(const float* base, const int32_t* index, int) {
    return *index >= 0 ? base[*index] : 0.f;
  }

  template <class T>
  static double sum_squares(const T* x, int64_t n) {
    return sum_squares_scalar(x, n, [](T v) { return double(load(&v)); });
  }
};

struct ScalarVecF64 {
  using V = double;
  static constexpr int kWidth = 1;
  static FUSEDNN_INLINE V load(const double* p) { return *p; }
  static FUSEDNN_INLINE void store(double* p, V v) { *p = v; }
  static FUSEDNN_INLINE V load_partial(const double* p, int) { return *p; }
  static FUSEDNN_INLINE void store_partial(double* p, V v, int) { *p = v; }

  // Exact squares cannot be had in double for double inputs; the sum only decides clipping
  // and non-finiteness, as in torch's clip_grad_norm_.
  static double sum_squares(const double* x, int64_t n) {
    return sum_squares_scalar(x, n, [](double v) { return v; });
  }
};

}  // namespace
}  // namespace fusednn::cpu
