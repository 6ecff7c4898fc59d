// The scalar "vector" of width 1: the operations the shared per-element math (optim_math.h,
// act_math.h) needs, for plain float (and double, for float64 parameters). The AVX2 twin is csrc/cpu/vec_avx2.h.
//
// They are `static` so that a translation unit compiled with -mavx2 never hands the linker a
// copy that would then be used by the portable scalar path.
#pragma once
#include <math.h>

#include "fusednn/macros.h"

namespace fusednn {

// a*b + c. On the host the scalar path must run on any x86-64, so the product is rounded
// before the add (the AVX2 and CUDA paths fuse it); the paths agree to float32 rounding.
FUSEDNN_HD static FUSEDNN_INLINE float fmadd(float a, float b, float c) {
#if defined(__CUDA_ARCH__)
  return __fmaf_rn(a, b, c);
#else
  return a * b + c;
#endif
}
// c - a*b
FUSEDNN_HD static FUSEDNN_INLINE float fnmadd(float a, float b, float c) {
#if defined(__CUDA_ARCH__)
  return __fmaf_rn(-a, b, c);
#else
  return c - a * b;
#endif
}
FUSEDNN_HD static FUSEDNN_INLINE float vsqrt(float a) { return sqrtf(a); }
FUSEDNN_HD static FUSEDNN_INLINE float vmax(float a, float b) { return a > b ? a : b; }
FUSEDNN_HD static FUSEDNN_INLINE float vexp(float a) { return expf(a); }
FUSEDNN_HD static FUSEDNN_INLINE float vtanh(float a) { return tanhf(a); }
FUSEDNN_HD static FUSEDNN_INLINE float verf(float a) { return erff(a); }
// c > 0 ? a : b (NaN in c picks b, as in the AVX2 twin).
FUSEDNN_HD static FUSEDNN_INLINE float vselect_pos(float c, float a, float b) { return c > 0.f ? a : b; }
// cand takes over a running maximum best: it is larger, or it is the first NaN (a NaN best
// keeps its place) — torch's pooling rule. Picks a when it does, b otherwise.
FUSEDNN_HD static FUSEDNN_INLINE float vselect_takes_max(float cand, float best, float a, float b) {
  return (cand > best || (cand != cand && best == best)) ? a : b;
}
// a == b ? x : y
FUSEDNN_HD static FUSEDNN_INLINE float vselect_eq(float a, float b, float x, float y) {
  return a == b ? x : y;
}
// sign(0) = 0, as torch.sign (NaN gives 0, as in the AVX2 twin).
FUSEDNN_HD static FUSEDNN_INLINE float vsign(float a) { return float(a > 0.f) - float(a < 0.f); }

// The float64 twins, for float64 parameters (host only: the GPU path takes no float64).
// Unfused like the float ones, so the scalar reference runs on any x86-64.
static FUSEDNN_INLINE double fmadd(double a, double b, double c) { return a * b + c; }
static FUSEDNN_INLINE double fnmadd(double a, double b, double c) { return c - a * b; }
static FUSEDNN_INLINE double vsqrt(double a) { return sqrt(a); }
static FUSEDNN_INLINE double vmax(double a, double b) { return a > b ? a : b; }
static FUSEDNN_INLINE double vsign(double a) { return double(a > 0.0) - double(a < 0.0); }

}  // namespace fusednn
