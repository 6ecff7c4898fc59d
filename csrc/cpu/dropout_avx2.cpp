// Dropout and the Philox stream, AVX2 path: eight Philox blocks at once, one per 32-bit lane,
// then a 4x8 transpose back into stream order (64 dropout elements per round of blocks). Integer arithmetic only, so it matches the
// scalar reference (dropout_scalar.cpp) bit for bit. Compiled with -mavx2 -mfma; only called
// after dispatch.cpp has seen AVX2 on the CPU.
#include <immintrin.h>

#include "cpu/dropout_engine.h"

namespace fusednn::cpu {
namespace {

// (hi, lo) 32-bit halves of the 8 products m * x, lane by lane.
inline void mulhilo8(__m256i m, __m256i x, __m256i& hi, __m256i& lo) {
  const __m256i even = _mm256_mul_epu32(x, m);                         // lanes 0,2,4,6
  const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(x, 32), m);  // lanes 1,3,5,7
  lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

struct Avx2Philox {
  // The 32 words of the 8 blocks starting at word `first` (a multiple of 32), in order.
  static void words8x4(__m256i out[4], uint64_t seed, uint64_t offset, int64_t first) {
    // Lane k runs block j0 + k. j0 is a multiple of 8, so adding k to its low word never
    // carries into the high word.
    const uint64_t j0 = uint64_t(first) / 4;
    __m256i c0 = _mm256_add_epi32(_mm256_set1_epi32(int(uint32_t(j0))),
                                  _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    __m256i c1 = _mm256_set1_epi32(int(uint32_t(j0 >> 32)));
    __m256i c2 = _mm256_set1_epi32(int(uint32_t(offset)));
    __m256i c3 = _mm256_set1_epi32(int(uint32_t(offset >> 32)));
    __m256i k0 = _mm256_set1_epi32(int(uint32_t(seed)));
    __m256i k1 = _mm256_set1_epi32(int(uint32_t(seed >> 32)));
    const __m256i m0 = _mm256_set1_epi64x(kPhiloxM0), m1 = _mm256_set1_epi64x(kPhiloxM1);
    const __m256i w0 = _mm256_set1_epi32(int(kPhiloxW0)), w1 = _mm256_set1_epi32(int(kPhiloxW1));
    for (int round = 0; round < kPhiloxRounds; ++round) {
      if (round > 0) {
        k0 = _mm256_add_epi32(k0, w0);
        k1 = _mm256_add_epi32(k1, w1);
      }
      __m256i hi0, lo0, hi1, lo1;
      mulhilo8(m0, c0, hi0, lo0);
      mulhilo8(m1, c2, hi1, lo1);
      c0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), k0);
      c1 = lo1;
      c2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), k1);
      c3 = lo0;
    }
    // Lane k holds block j0+k; element 4k+w is word w. Transpose 4x8 into element order.
    const __m256i t0 = _mm256_unpacklo_epi32(c0, c1), t1 = _mm256_unpacklo_epi32(c2, c3);
    const __m256i t2 = _mm256_unpackhi_epi32(c0, c1), t3 = _mm256_unpackhi_epi32(c2, c3);
    const __m256i b04 = _mm256_unpacklo_epi64(t0, t1), b15 = _mm256_unpackhi_epi64(t0, t1);
    const __m256i b26 = _mm256_unpacklo_epi64(t2, t3), b37 = _mm256_unpackhi_epi64(t2, t3);
    out[0] = _mm256_permute2x128_si256(b04, b15, 0x20);  // blocks 0, 1
    out[1] = _mm256_permute2x128_si256(b26, b37, 0x20);  // blocks 2, 3
    out[2] = _mm256_permute2x128_si256(b04, b15, 0x31);  // blocks 4, 5
    out[3] = _mm256_permute2x128_si256(b26, b37, 0x31);  // blocks 6, 7
  }

  static void words32(uint32_t* out, uint64_t seed, uint64_t offset, int64_t first) {
    __m256i w[4];
    words8x4(w, seed, offset, first);
    for (int q = 0; q < 4; ++q) _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 8 * q), w[q]);
  }

  // 64 elements from element `first` (a multiple of 64): their 16-bit draws are the halves
  // of 32 words, which in memory order are already element order.
  static void dropout64(const float* x, float* y, int64_t first, const DropoutParams& d) {
    if (d.drop_all) {
      for (int q = 0; q < 8; ++q) _mm256_storeu_ps(y + 8 * q, _mm256_setzero_ps());
      return;
    }
    __m256i w[4];
    words8x4(w, d.seed, d.offset, first / 2);
    const __m256i threshold = _mm256_set1_epi16(short(uint16_t(d.threshold)));
    const __m256 scale = _mm256_set1_ps(d.scale);
    for (int q = 0; q < 4; ++q) {
      // Unsigned draw >= threshold  <=>  max(draw, threshold) == draw, 16 lanes at once;
      // then each 16-bit mask is sign-extended to the 32 bits of its float.
      const __m256i keep16 = _mm256_cmpeq_epi16(_mm256_max_epu16(w[q], threshold), w[q]);
      const __m256i keep[2] = {_mm256_cvtepi16_epi32(_mm256_castsi256_si128(keep16)),
                               _mm256_cvtepi16_epi32(_mm256_extracti128_si256(keep16, 1))};
      for (int h = 0; h < 2; ++h) {
        const int at = 16 * q + 8 * h;
        const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + at), scale);
        _mm256_storeu_ps(y + at, _mm256_and_ps(v, _mm256_castsi256_ps(keep[h])));
      }
    }
  }
};

}  // namespace

const DropoutKernels kAvx2DropoutKernels = make_dropout_kernels<Avx2Philox>();

}  // namespace fusednn::cpu
