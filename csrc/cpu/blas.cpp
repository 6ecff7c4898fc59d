#include "cpu/blas.h"

#include <cblas.h>

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace fusednn::cpu {

namespace {

blasint blas_dim(int64_t v, const char* what) {
  if (v < 0 || v > std::numeric_limits<blasint>::max()) {
    throw std::invalid_argument(std::string("GEMM dimension ") + what + " = " +
                                std::to_string(v) + " does not fit the 32-bit BLAS interface");
  }
  return blasint(v);
}

// OpenBLAS runs on the calling thread only; done once, before the first GEMM.
void single_threaded_blas() {
  static const bool done = [] {
    scipy_openblas_set_num_threads(1);
    return true;
  }();
  (void)done;
}

// Below this many multiply-adds a GEMM is not split (a thread team costs a few microseconds).
constexpr double kSplitMin = 1 << 22;
// Blocks are cut on multiples of this many rows/columns (the micro-kernels' widths).
constexpr int64_t kBlockAlign = 16;

}  // namespace

void sgemm_serial(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                  int64_t ldc) {
  if (m == 0 || n == 0) return;
  single_threaded_blas();
  scipy_cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                    trans_b ? CblasTrans : CblasNoTrans, blas_dim(m, "m"), blas_dim(n, "n"),
                    blas_dim(k, "k"), alpha, a, blas_dim(lda, "lda"), b, blas_dim(ldb, "ldb"),
                    beta, c, blas_dim(ldc, "ldc"));
}

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc) {
#ifdef _OPENMP
  const int threads = omp_get_max_threads();
  if (threads > 1 && double(m) * double(n) * double(k) >= kSplitMin) {
    // Split the longer of m and n: each thread computes a block of C from the matching rows
    // of op(A) or columns of op(B).
    const bool by_rows = m >= n;
    const int64_t extent = by_rows ? m : n;
    const int64_t blocks = (extent + kBlockAlign - 1) / kBlockAlign;
    std::string error;
#pragma omp parallel num_threads(threads)
    {
      const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
      const int64_t lo = std::min(extent, blocks * t / nt * kBlockAlign);
      const int64_t hi = std::min(extent, blocks * (t + 1) / nt * kBlockAlign);
      if (lo < hi) {
        try {
          if (by_rows) {
            const float* a_block = trans_a ? a + lo : a + lo * lda;
            sgemm_serial(trans_a, trans_b, hi - lo, n, k, alpha, a_block, lda, b, ldb, beta,
                         c + lo * ldc, ldc);
          } else {
            const float* b_block = trans_b ? b + lo * ldb : b + lo;
            sgemm_serial(trans_a, trans_b, m, hi - lo, k, alpha, a, lda, b_block, ldb, beta,
                         c + lo, ldc);
          }
        } catch (const std::exception& e) {
#pragma omp critical
          error = e.what();
        }
      }
    }
    if (!error.empty()) throw std::invalid_argument(error);
    return;
  }
#endif
  sgemm_serial(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace fusednn::cpu
