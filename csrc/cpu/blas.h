// Single-precision GEMM through OpenBLAS (the scipy-openblas32 wheel, whose symbols carry a
// scipy_ prefix), row-major, as every layer here stores its tensors.
#pragma once
#include <cblas.h>

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

namespace fusednn::cpu {

inline blasint blas_dim(int64_t v, const char* what) {
  if (v < 0 || v > std::numeric_limits<blasint>::max()) {
    throw std::invalid_argument(std::string("GEMM dimension ") + what + " = " + std::to_string(v) +
                                " does not fit the 32-bit BLAS interface");
  }
  return blasint(v);
}

// C[m,n] = alpha * op(A)[m,k] op(B)[k,n] + beta * C, row-major, leading dimensions as stored.
inline void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                  int64_t ldc) {
  if (m == 0 || n == 0) return;
  scipy_cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                    trans_b ? CblasTrans : CblasNoTrans, blas_dim(m, "m"), blas_dim(n, "n"),
                    blas_dim(k, "k"), alpha, a, blas_dim(lda, "lda"), b, blas_dim(ldb, "ldb"), beta,
                    c, blas_dim(ldc, "ldc"));
}

}  // namespace fusednn::cpu
