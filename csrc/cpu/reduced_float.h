// The 16-bit parameter types of the CPU optimizers, as storage (their math runs in float32),
// and their scalar conversions: the reference the AVX2 twins (vec_avx2.h) are tested against.
// Both round to nearest even, as torch's and numpy's conversions do; a NaN stays a NaN
// (bfloat16 writes torch's 0x7fc0).
// The conversions have internal linkage, as everything the engines instantiate.
#pragma once
#include <cstdint>
#include <cstring>

#include "fusednn/macros.h"

namespace fusednn::cpu {

// Storage only (no code, so one definition serves every translation unit).
struct Bf16 {
  uint16_t bits;
};
struct Half {
  uint16_t bits;
};

namespace {

FUSEDNN_INLINE uint32_t float_bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
}
FUSEDNN_INLINE float bits_float(uint32_t u) {
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}

FUSEDNN_INLINE float to_float(Bf16 x) { return bits_float(uint32_t(x.bits) << 16); }

FUSEDNN_INLINE Bf16 to_bf16(float x) {
  const uint32_t u = float_bits(x);
  if ((u & 0x7fffffffu) > 0x7f800000u) return Bf16{0x7fc0};  // torch's NaN
  return Bf16{uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16)};
}

FUSEDNN_INLINE float to_float(Half x) {
  const uint32_t sign = uint32_t(x.bits & 0x8000u) << 16;
  const uint32_t exp = (x.bits >> 10) & 0x1fu, mant = x.bits & 0x3ffu;
  if (exp == 0x1f) return bits_float(sign | 0x7f800000u | (mant << 13));  // inf, NaN
  if (exp != 0) return bits_float(sign | ((exp + 112u) << 23) | (mant << 13));
  // zero or subnormal: mant * 2^-24, exact in float
  const float v = float(mant) * 5.9604644775390625e-8f;
  return sign ? -v : v;
}

FUSEDNN_INLINE Half to_half(float x) {
  const uint32_t u = float_bits(x);
  const uint16_t sign = uint16_t((u >> 16) & 0x8000u);
  const uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return Half{uint16_t(sign | 0x7e00u | ((a >> 13) & 0x3ffu))};  // NaN
  if (a >= 0x477ff000u) return Half{uint16_t(sign | 0x7c00u)};  // rounds to >= 65520: inf
  if (a >= 0x38800000u) {  // normal half (>= 2^-14)
    const uint32_t r = a + 0x0fffu + ((a >> 13) & 1u) - (112u << 23);
    return Half{uint16_t(sign | (r >> 13))};
  }
  if (a < 0x33000000u) return Half{sign};  // below half of the smallest subnormal: zero
  // subnormal half: the value in units of 2^-24, rounded to nearest even
  const uint32_t e = a >> 23, m = (a & 0x7fffffu) | 0x800000u;
  const uint32_t shift = 126u - e;  // 14..24: m * 2^(e-150) / 2^-24 = m >> (126 - e)
  const uint32_t q = m >> shift, rest = m & ((1u << shift) - 1u), half = 1u << (shift - 1);
  const uint32_t rounded = q + (rest > half || (rest == half && (q & 1u)));
  return Half{uint16_t(sign | rounded)};
}

}  // namespace
}  // namespace fusednn::cpu
