// An 8-wide float vector for AVX2+FMA, with the operations optim_math.h needs (the scalar
// twin is fusednn/vec_scalar.h), loading and storing float32 and — converted in registers —
// bfloat16 and float16 (F16C); and a 4-wide double vector for float64 parameters. Only for
// translation units compiled with -mavx2 -mfma (-mf16c where float16 is used); everything has
// internal linkage.
#pragma once
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "cpu/reduced_float.h"

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

// c > 0 ? a : b, lane by lane (a NaN in c picks b, as in the scalar twin).
inline V8 vselect_pos(V8 c, V8 a, V8 b) {
  return _mm256_blendv_ps(b.v, a.v, _mm256_cmp_ps(c.v, _mm256_setzero_ps(), _CMP_GT_OQ));
}

// The twins of vec_scalar.h's vselect_takes_max and vselect_eq, lane by lane.
inline V8 vselect_takes_max(V8 cand, V8 best, V8 a, V8 b) {
  const __m256 larger = _mm256_cmp_ps(cand.v, best.v, _CMP_GT_OQ);
  const __m256 first_nan = _mm256_andnot_ps(_mm256_cmp_ps(best.v, best.v, _CMP_UNORD_Q),
                                            _mm256_cmp_ps(cand.v, cand.v, _CMP_UNORD_Q));
  return _mm256_blendv_ps(b.v, a.v, _mm256_or_ps(larger, first_nan));
}
inline V8 vselect_eq(V8 a, V8 b, V8 x, V8 y) {
  return _mm256_blendv_ps(y.v, x.v, _mm256_cmp_ps(a.v, b.v, _CMP_EQ_OQ));
}

// exp: x = n*ln2 + r with |r| <= ln2/2, a degree-6 polynomial for e^r (Cephes expf's
// coefficients, within 2 ulp of libm), then 2^n put straight into the exponent bits. Below
// -87.3 the result flushes to 0; a NaN stays NaN.
inline V8 vexp(V8 x) {
  const __m256 hi = _mm256_set1_ps(88.3762626647949f), lo = _mm256_set1_ps(-87.3365447505531f);
  __m256 v = _mm256_max_ps(lo, _mm256_min_ps(hi, x.v));  // operand order passes a NaN through
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(v, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  v = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), v);
  v = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), v);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, v, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, v, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, v, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, v, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, v, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(v, v), _mm256_add_ps(v, _mm256_set1_ps(1.f)));
  // n is in [-126, 128]; 2^n for n = -126.. via the biased exponent, 2^128 overflows to inf
  // through two half-steps so no lane builds an invalid exponent.
  const __m256i e = _mm256_cvtps_epi32(n);
  const __m256i half = _mm256_srai_epi32(e, 1);
  const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half, _mm256_set1_epi32(127)), 23));
  const __m256 s2 = _mm256_castsi256_ps(
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(e, half), _mm256_set1_epi32(127)), 23));
  return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

// tanh: an odd polynomial below |x| = 0.625 (Cephes tanhf), where 1 - 2/(e^2|x| + 1) would
// lose the relative precision of a small result; that formula above it, with x's sign.
inline V8 vtanh(V8 x) {
  const __m256 sign = _mm256_and_ps(x.v, _mm256_set1_ps(-0.f));
  const __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.f), x.v);
  const __m256 z = _mm256_mul_ps(x.v, x.v);
  __m256 p = _mm256_set1_ps(-5.70498872745e-3f);
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(2.06390887954e-2f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-5.37397155531e-2f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.33314422036e-1f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-3.33332819422e-1f));
  const __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, z), x.v, x.v);
  const __m256 e = vexp(V8(_mm256_add_ps(ax, ax))).v;
  const __m256 big = _mm256_sub_ps(_mm256_set1_ps(1.f),
                                   _mm256_div_ps(_mm256_set1_ps(2.f), _mm256_add_ps(e, _mm256_set1_ps(1.f))));
  const __m256 use_small = _mm256_cmp_ps(ax, _mm256_set1_ps(0.625f), _CMP_LT_OQ);
  return _mm256_blendv_ps(_mm256_or_ps(big, sign), small, use_small);
}

// erf: Abramowitz & Stegun 7.1.26, 1 - t(a1 + t(a2 + ...)) e^-x^2 with t = 1/(1 + p|x|);
// absolute error below 1.5e-7, which is what GELU's 1 + erf needs.
inline V8 verf(V8 x) {
  const __m256 sign = _mm256_and_ps(x.v, _mm256_set1_ps(-0.f));
  const __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.f), x.v);
  const __m256 t = _mm256_div_ps(_mm256_set1_ps(1.f),
                                 _mm256_fmadd_ps(_mm256_set1_ps(0.3275911f), ax, _mm256_set1_ps(1.f)));
  __m256 p = _mm256_set1_ps(1.061405429f);
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.453152027f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.421413741f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.284496736f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.254829592f));
  p = _mm256_mul_ps(p, t);
  const __m256 e = vexp(V8(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(ax, ax)))).v;
  const __m256 r = _mm256_fnmadd_ps(p, e, _mm256_set1_ps(1.f));
  return _mm256_or_ps(r, sign);
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

  // bfloat16: the high half of a float32; stores round to nearest even and write torch's
  // NaN (0x7fc0) for a NaN, as to_bf16 in reduced_float.h does one element at a time.
  static inline V load(const Bf16* p) {
    const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
  }
  static inline __m128i bf16_bits(V v) {
    const __m256i u = _mm256_castps_si256(v.v);
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    __m256i r = _mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7fff)), lsb);
    const __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(v.v, v.v, _CMP_UNORD_Q));
    r = _mm256_blendv_epi8(r, _mm256_set1_epi32(0x7fc00000), nan);
    // the high 16 bits of each 32-bit lane, in order: one byte shuffle per 128-bit half,
    // then the two halves' low 64 bits side by side
    const __m256i take_high = _mm256_setr_epi8(2, 3, 6, 7, 10, 11, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1,
                                               2, 3, 6, 7, 10, 11, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m256i packed = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(r, take_high), 0x08);
    return _mm256_castsi256_si128(packed);
  }
  static inline void store(Bf16* p, V v) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), bf16_bits(v));
  }
  // float16 through F16C, rounding to nearest even.
  static inline V load(const Half* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static inline void store(Half* p, V v) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm256_cvtps_ph(v.v, _MM_FROUND_TO_NEAREST_INT));
  }
  // 16-bit tails go through a small buffer: no masked 16-bit moves in AVX2.
  template <class T>
  static inline V load_partial(const T* p, int n) {
    T buf[8] = {};
    std::memcpy(buf, p, sizeof(T) * size_t(n));
    return load(buf);
  }
  template <class T>
  static inline void store_partial(T* p, V v, int n) {
    T buf[8];
    store(buf, v);
    std::memcpy(p, buf, sizeof(T) * size_t(n));
  }

  // 16 floats (lo, hi) split into the even and the odd ones, in order, and back (pooling's
  // 2-wide windows).
  static inline void deinterleave(__m256 lo, __m256 hi, V& even, V& odd) {
    // within each 128-bit half: lo's pair then hi's; the 64-bit swap puts them in order
    const __m256 e = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
    const __m256 o = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1));
    even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), 0xD8));
    odd = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), 0xD8));
  }
  static inline void interleave(V even, V odd, __m256& lo, __m256& hi) {
    const __m256 a = _mm256_unpacklo_ps(even.v, odd.v), b = _mm256_unpackhi_ps(even.v, odd.v);
    lo = _mm256_permute2f128_ps(a, b, 0x20);
    hi = _mm256_permute2f128_ps(a, b, 0x31);
  }
  static inline void load_pairs(const float* p, V& even, V& odd) {
    deinterleave(_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8), even, odd);
  }
  static inline void store_pairs(float* p, V even, V odd) {
    __m256 lo, hi;
    interleave(even, odd, lo, hi);
    _mm256_storeu_ps(p, lo);
    _mm256_storeu_ps(p + 8, hi);
  }
  // The first n < 8 pairs (2n floats); the lanes past them read as 0 and are not stored.
  static inline void load_pairs_partial(const float* p, int n, V& even, V& odd) {
    const __m256 lo = _mm256_maskload_ps(p, tail_mask(2 * n < 8 ? 2 * n : 8));
    const __m256 hi = 2 * n > 8 ? _mm256_maskload_ps(p + 8, tail_mask(2 * n - 8))
                                : _mm256_setzero_ps();
    deinterleave(lo, hi, even, odd);
  }
  static inline void store_pairs_partial(float* p, V even, V odd, int n) {
    __m256 lo, hi;
    interleave(even, odd, lo, hi);
    _mm256_maskstore_ps(p, tail_mask(2 * n < 8 ? 2 * n : 8), lo);
    if (2 * n > 8) _mm256_maskstore_ps(p + 8, tail_mask(2 * n - 8), hi);
  }
  static inline V iota() { return _mm256_setr_ps(0.f, 1.f, 2.f, 3.f, 4.f, 5.f, 6.f, 7.f); }
  // Indices held as floats (exact below 2^24) to and from int32; n lanes of a partial one.
  static inline V load_index(const int32_t* p) {
    return _mm256_cvtepi32_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static inline void store_index(int32_t* p, V v) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm256_cvtps_epi32(v.v));
  }
  static inline V load_index_partial(const int32_t* p, int n) {
    return _mm256_cvtepi32_ps(_mm256_maskload_epi32(reinterpret_cast<const int*>(p), tail_mask(n)));
  }
  static inline void store_index_partial(int32_t* p, V v, int n) {
    _mm256_maskstore_epi32(reinterpret_cast<int*>(p), tail_mask(n), _mm256_cvtps_epi32(v.v));
  }

  // base[index[l]] in lane l for the first n lanes whose index is >= 0, 0 in the others (a
  // negative index is padding; lanes at or past n read neither index nor base).
  static inline V gather(const float* base, const int32_t* index, int n) {
    const __m256i in = n == kWidth ? _mm256_set1_epi32(-1) : tail_mask(n);
    const __m256i i = _mm256_maskload_epi32(reinterpret_cast<const int*>(index), in);
    const __m256i take = _mm256_and_si256(in, _mm256_cmpgt_epi32(i, _mm256_set1_epi32(-1)));
    return _mm256_mask_i32gather_ps(_mm256_setzero_ps(), base, i, _mm256_castsi256_ps(take), 4);
  }

  static inline float hsum(V v) {
    const __m128 h = _mm_add_ps(_mm256_castps256_ps128(v.v), _mm256_extractf128_ps(v.v, 1));
    const __m128 q = _mm_add_ps(h, _mm_movehl_ps(h, h));
    return _mm_cvtss_f32(_mm_add_ss(q, _mm_movehdup_ps(q)));
  }

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
  // 16-bit gradients: widened 8 at a time, then squared in double like float32 ones.
  template <class T>
  static double sum_squares(const T* x, int64_t n) {
    __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
      const __m256 u = load(x + i).v;
      a0 = square_add(_mm256_castps256_ps128(u), a0);
      a1 = square_add(_mm256_extractf128_ps(u, 1), a1);
    }
    if (i < n) {
      const __m256 u = load_partial(x + i, int(n - i)).v;  // zero-filled past the end
      a0 = square_add(_mm256_castps256_ps128(u), a0);
      a1 = square_add(_mm256_extractf128_ps(u, 1), a1);
    }
    const __m256d s = _mm256_add_pd(a0, a1);
    const __m128d h = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
    return _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
  }
};

// ---------------------------------------------------------------------------------------------
// 4 doubles, for float64 parameters and state.
// ---------------------------------------------------------------------------------------------
struct V4d {
  __m256d v;
  V4d() = default;
  V4d(__m256d x) : v(x) {}
  explicit V4d(double x) : v(_mm256_set1_pd(x)) {}
};

inline V4d operator+(V4d a, V4d b) { return _mm256_add_pd(a.v, b.v); }
inline V4d operator-(V4d a, V4d b) { return _mm256_sub_pd(a.v, b.v); }
inline V4d operator*(V4d a, V4d b) { return _mm256_mul_pd(a.v, b.v); }
inline V4d operator/(V4d a, V4d b) { return _mm256_div_pd(a.v, b.v); }
inline V4d fmadd(V4d a, V4d b, V4d c) { return _mm256_fmadd_pd(a.v, b.v, c.v); }
inline V4d fnmadd(V4d a, V4d b, V4d c) { return _mm256_fnmadd_pd(a.v, b.v, c.v); }
inline V4d vsqrt(V4d a) { return _mm256_sqrt_pd(a.v); }
inline V4d vmax(V4d a, V4d b) { return _mm256_max_pd(a.v, b.v); }
inline V4d vsign(V4d a) {
  const __m256d zero = _mm256_setzero_pd(), one = _mm256_set1_pd(1.0);
  const __m256d pos = _mm256_and_pd(_mm256_cmp_pd(a.v, zero, _CMP_GT_OQ), one);
  const __m256d neg = _mm256_and_pd(_mm256_cmp_pd(a.v, zero, _CMP_LT_OQ), one);
  return _mm256_sub_pd(pos, neg);
}

struct Avx2VecF64 {
  using V = V4d;
  static constexpr int kWidth = 4;

  static inline __m256i tail_mask(int n) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
  }
  static inline V load(const double* p) { return _mm256_loadu_pd(p); }
  static inline void store(double* p, V v) { _mm256_storeu_pd(p, v.v); }
  static inline V load_partial(const double* p, int n) { return _mm256_maskload_pd(p, tail_mask(n)); }
  static inline void store_partial(double* p, V v, int n) { _mm256_maskstore_pd(p, tail_mask(n), v.v); }

  static double sum_squares(const double* x, int64_t n) {
    __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
      const __m256d u = _mm256_loadu_pd(x + i), w = _mm256_loadu_pd(x + i + 4);
      a0 = _mm256_fmadd_pd(u, u, a0);
      a1 = _mm256_fmadd_pd(w, w, a1);
    }
    for (; i < n; i += 4) {
      const __m256d u = load_partial(x + i, n - i < 4 ? int(n - i) : 4).v;  // masked lanes: 0
      a0 = _mm256_fmadd_pd(u, u, a0);
    }
    const __m256d s = _mm256_add_pd(a0, a1);
    const __m128d h = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
    return _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
  }
};

}  // namespace
}  // namespace fusednn::cpu
