#include "cpu/layers.h"

#include <cstring>
#include <initializer_list>
#include <stdexcept>
#include <vector>


#include "cpu/blas.h"
#include "cpu/dispatch.h"
#include "cpu/parallel.h"

namespace fusednn::cpu {

namespace {

void epilogue_forward(float* y, float* saved, const ChannelShape& shape, const Epilogue& e) {
  if (!e.bias && e.act == Act::kIdentity) return;
  nn_kernels().bias_act_forward(
      BiasActForwardArgs{y, e.bias, y, act_saves_input(e.act) ? saved : nullptr, shape, e.act, e.slope});
}

// dz = dy * act'(saved) and dbias; returns the gradient to feed the GEMMs (dy itself when
// there is nothing to apply).
const float* epilogue_backward(const float* dy, const float* saved, float* dz, float* dbias,
                               const ChannelShape& shape, Act act, float slope) {
  if (act == Act::kIdentity && !dbias) return dy;
  nn_kernels().bias_act_backward(BiasActBackwardArgs{dy, saved, dz, dbias, shape, act, slope});
  return dz;
}

}  // namespace

void linear_forward(const float* x, const float* w, float* y, float* saved, int64_t batch,
                    int64_t in, int64_t out, const Epilogue& e) {
  if (in == 0) {
    std::memset(y, 0, sizeof(float) * size_t(batch * out));
  } else {
    sgemm(false, true, batch, out, in, 1.f, x, in, w, in, 0.f, y, out);
  }
  epilogue_forward(y, saved, ChannelShape{batch, out, 1}, e);
}

void linear_backward(const float* x, const float* w, const float* dy, const float* saved,
                     float* dz, float* dx, float* dw, float* dbias, int64_t batch, int64_t in,
                     int64_t out, Act act, float slope) {
  const float* g = epilogue_backward(dy, saved, dz, dbias, ChannelShape{batch, out, 1}, act, slope);
  if (dx) {
    if (out == 0) std::memset(dx, 0, sizeof(float) * size_t(batch * in));
    else sgemm(false, false, batch, in, out, 1.f, g, out, w, in, 0.f, dx, in);
  }
  if (dw) {
    if (batch == 0) std::memset(dw, 0, sizeof(float) * size_t(out * in));
    else sgemm(true, false, out, in, batch, 1.f, g, out, x, in, 0.f, dw, in);
  }
}

// Conv: samples are split across the OpenMP threads, each running im2col and a single-threaded
// GEMM per sample into its own buffers (the GEMMs are too small to split well, the batch is
// not); with fewer samples than threads, one sample at a time with the GEMM split instead.
namespace {

// All threads when every thread gets a sample, else one (the GEMMs split instead).
int threads_for(int64_t batch) {
  const int t = max_threads();
  return batch >= t ? t : 1;
}

void check_fits(std::initializer_list<int64_t> dims) {
  for (int64_t d : dims) {
    if (d > int64_t(0x7fffffff)) {
      throw std::invalid_argument("convolution too large for the 32-bit BLAS interface");
    }
  }
}

}  // namespace

void conv2d_forward(const float* x, const float* w, float* y, float* saved, int64_t batch,
                    int64_t out_channels, const ConvGeometry& g, const Epilogue& e) {
  const int64_t K = g.col_rows(), P = g.col_cols(), image = g.channels * g.height * g.width;
  check_fits({K, P, out_channels});
  const int threads = threads_for(batch);
  const auto gemm = threads > 1 ? &sgemm_serial : &sgemm;
  parallel_ranges(batch, threads, [&](int, int64_t lo, int64_t hi) {
    std::vector<float> col(g.is_pointwise() || lo == hi ? 0 : size_t(K * P));
    for (int64_t n = lo; n < hi; ++n) {
      const float* cols = x + n * image;
      if (!g.is_pointwise()) {
        im2col(x + n * image, col.data(), g);
        cols = col.data();
      }
      gemm(false, false, out_channels, P, K, 1.f, w, K, cols, P, 0.f, y + n * out_channels * P, P);
    }
  });
  epilogue_forward(y, saved, ChannelShape{batch, out_channels, P}, e);
}

void conv2d_backward(const float* x, const float* w, const float* dy, const float* saved,
                     float* dz, float* dx, float* dw, float* dbias, int64_t batch,
                     int64_t out_channels, const ConvGeometry& g, Act act, float slope) {
  const int64_t K = g.col_rows(), P = g.col_cols(), image = g.channels * g.height * g.width;
  check_fits({K, P, out_channels});
  const float* gz = epilogue_backward(dy, saved, dz, dbias,
                                      ChannelShape{batch, out_channels, P}, act, slope);
  const int threads = threads_for(batch);
  const auto gemm = threads > 1 ? &sgemm_serial : &sgemm;
  const size_t wsize = size_t(out_channels * K);
  // Thread 0 accumulates straight into dw, the others into their own partial sums.
  std::vector<float> partials(dw && threads > 1 ? wsize * size_t(threads - 1) : 0);
  parallel_ranges(batch, threads, [&](int t, int64_t lo, int64_t hi) {
    float* my_dw = dw ? (t == 0 ? dw : partials.data() + wsize * size_t(t - 1)) : nullptr;
    if (my_dw && lo == hi) std::memset(my_dw, 0, sizeof(float) * wsize);
    std::vector<float> col(g.is_pointwise() || lo == hi ? 0 : size_t(K * P));
    for (int64_t n = lo; n < hi; ++n) {
      const float* gn = gz + n * out_channels * P;
      if (my_dw) {
        const float* cols = x + n * image;
        if (!g.is_pointwise()) {
          im2col(x + n * image, col.data(), g);
          cols = col.data();
        }
        gemm(false, true, out_channels, K, P, 1.f, gn, P, cols, P, n == lo ? 0.f : 1.f, my_dw, K);
      }
      if (dx) {
        if (g.is_pointwise()) {
          gemm(true, false, K, P, out_channels, 1.f, w, K, gn, P, 0.f, dx + n * image, P);
        } else {
          gemm(true, false, K, P, out_channels, 1.f, w, K, gn, P, 0.f, col.data(), P);
          col2im(col.data(), dx + n * image, g);
        }
      }
    }
  });
  if (dw && batch == 0) std::memset(dw, 0, sizeof(float) * wsize);
  if (!partials.empty()) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < int64_t(wsize); ++i) {
      float sum = dw[i];
      for (int t = 0; t + 1 < threads; ++t) sum += partials[wsize * size_t(t) + size_t(i)];
      dw[i] = sum;
    }
  }
}

}  // namespace fusednn::cpu
