// An 8-wide float vector for AVX2+FMA, with the operations optim_math.h needs (the scalar
// twin is fusednn/vec_scalar.h). Only for translation units compiled with -mavx2 -mfma;
// everything has internal linkage.
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace fusednn::cpu {
namespace {

struct V8 {
  __m256 v;
  V8() = default;
  V8(__m256 x) : v(x) {}
  explicit V8(float x) : v(_mm256_set1_ps(x)) {}
};

inline V8 operator+(V8 a, V8 b) { return _mm256_add_ps(a.v, b.v); }
inline V8 operator-(V8 a, V8 b) { return _mm256_sub_ps(a.v, b.v); }
inline V8 operator*(V8 a, V8 b) { return _mm256_mul_ps(a.v, b.v); }
inline V8 operator/(V8 a, V8 b) { return _mm256_div_ps(a.v, b.v); }
inline V8 fmadd(V8 a, V8 b, V8 c) { return _mm256_fmadd_ps(a.v, b.v, c.v); }
inline V8 fnmadd(V8 a, V8 b, V8 c) { return _mm256_fnmadd_ps(a.v, b.v, c.v); }
inline V8 vsqrt(V8 a) { return _mm256_sqrt_ps(a.v); }
// Same NaN rule as the scalar a > b ? a : b: a NaN in either gives b.
inline V8 vmax(V8 a, V8 b) { return _mm256_max_ps(a.v, b.v); }
inline V8 vsign(V8 a) {
  const __m256 zero = _mm256_setzero_ps();
  const __m256 pos = _mm256_and_ps(_mm256_cmp_ps(a.v, zero, _CMP_GT_OQ), _mm256_set1_ps(1.f));
  const __m256 neg = _mm256_and_ps(_mm256_cmp_ps(a.v, zero, _CMP_LT_OQ), _mm256_set1_ps(1.f));
  return _mm256_sub_ps(pos, neg);
}

struct Avx2Vec {
  using V = V8;
  static constexpr int kWidth = 8;

  static inline __m256i tail_mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static inline V load(const float* p) { return _mm256_loadu_ps(p); }
  static inline void store(float* p, V v) { _mm256_storeu_ps(p, v.v); }
  // Masked-off lanes are neither read nor written, so a tail never touches memory past its end.
  static inline V load_partial(const float* p, int n) { return _mm256_maskload_ps(p, tail_mask(n)); }
  static inline void store_partial(float* p, V v, int n) { _mm256_maskstore_ps(p, tail_mask(n), v.v); }

  static inline __m256d square_add(__m128 x, __m256d acc) {
    const __m256d d = _mm256_cvtps_pd(x);
    return _mm256_fmadd_pd(d, d, acc);
  }
  static double sum_squares(const float* x, int64_t n) {
    __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
    __m256d a2 = _mm256_setzero_pd(), a3 = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
      const __m256 u = _mm256_loadu_ps(x + i), w = _mm256_loadu_ps(x + i + 8);
      a0 = square_add(_mm256_castps256_ps128(u), a0);
      a1 = square_add(_mm256_extractf128_ps(u, 1), a1);
      a2 = square_add(_mm256_castps256_ps128(w), a2);
      a3 = square_add(_mm256_extractf128_ps(w, 1), a3);
    }
    for (; i < n; i += 8) {
      const int left = n - i < 8 ? int(n - i) : 8;
      const __m256 u = load_partial(x + i, left).v;  // masked lanes read as 0
      a0 = square_add(_mm256_castps256_ps128(u), a0);
      a1 = square_add(_mm256_extractf128_ps(u, 1), a1);
    }
    const __m256d s = _mm256_add_pd(_mm256_add_pd(a0, a1), _mm256_add_pd(a2, a3));
    const __m128d h = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
    return _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
  }
};

}  // namespace
}  // namespace fusednn::cpu
