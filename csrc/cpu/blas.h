// Single-precision GEMM on the CPU: OpenBLAS (the scipy-openblas32 wheel, symbols prefixed
// scipy_) for the kernel, row-major as every layer here stores its tensors.
//
// All CPU threading in fusednn is OpenMP. OpenBLAS is therefore kept single-threaded and a
// large GEMM is split into column (or row) blocks across the OpenMP threads: two thread pools
// would each spin-wait while the other works, which on a small machine costs more than the
// GEMM itself (a 10x slowdown of im2col + GEMM measured on 2 cores).
#pragma once
#include <cstdint>

namespace fusednn::cpu {

// C[m,n] = alpha * op(A)[m,k] op(B)[k,n] + beta * C, threaded across the OpenMP threads
// when large enough. Must not be called from inside an OpenMP parallel region.
void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc);

// The same on the calling thread only (for use inside a parallel region).
void sgemm_serial(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                  int64_t ldc);

using SgemmFn = void (*)(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t,
                        const float*, int64_t, float, float*, int64_t);

// The GEMM for work spread over `threads` threads, each with its own block: the calling
// thread's alone when there are several (a parallel region must not split its GEMMs again),
// else the GEMM split across the threads.
inline SgemmFn sgemm_for_team(int threads) { return threads > 1 ? &sgemm_serial : &sgemm; }

}  // namespace fusednn::cpu
