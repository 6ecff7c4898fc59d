#include "cpu/layers.h"

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <memory>
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

// Conv: samples are split across the OpenMP threads, each running single-threaded GEMMs over
// its own samples (the GEMMs are too small to split well, the batch is not); with fewer
// samples than threads, one sample at a time with the GEMM split instead. A thread's GEMMs
// take several samples at once when one sample's output plane is narrow: their cols side by
// side give one GEMM of S * out_h * out_w columns (the tutorial CNN's second and third convs
// have 121 and 9 per sample, shapes where BLAS runs far below its rate), the output gathered
// back to NCHW (and the output gradient gathered from it) in the cache-hot chunk.
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

// Columns a batched GEMM aims for, and the most floats a chunk's col may hold (its im2col is
// written, then read by the GEMM while still in cache).
constexpr int64_t kChunkColumns = 512;
constexpr int64_t kChunkColFloats = int64_t(1) << 20;

// Samples per GEMM for a thread with `samples` of them.
int64_t chunk_samples(const ConvGeometry& g, int64_t samples) {
  const int64_t P = g.col_cols(), K = g.col_rows();
  int64_t s = (kChunkColumns + P - 1) / P;
  s = std::min(s, std::max<int64_t>(1, kChunkColFloats / std::max<int64_t>(1, K * P)));
  return std::max<int64_t>(1, std::min(s, samples));
}

// A thread's scratch floats for one call, contents undefined: the chunk's col, its gathered
// output or gradient, its dcol. Buffers up to kKeptFloats stay with the thread for the next
// call: allocating them per call (zero-filled, page-faulted) cost 3-4% of a conv at the
// tutorial's shapes. Larger ones are the call's own.
enum class Scratch { col, chunk, dcol, count };

class ScratchFloats {
 public:
  static constexpr size_t kKeptFloats = size_t(1) << 22;  // 16 MiB

  ScratchFloats(Scratch slot, size_t n) {
    thread_local std::unique_ptr<float[]> kept[size_t(Scratch::count)];
    thread_local size_t capacity[size_t(Scratch::count)] = {};
    if (n > kKeptFloats) {
      owned_.reset(new float[n]);
      data_ = owned_.get();
      return;
    }
    const size_t i = size_t(slot);
    if (capacity[i] < n) {
      kept[i].reset(new float[n]);
      capacity[i] = n;
    }
    data_ = kept[i].get();
  }
  float* data() const { return data_; }

 private:
  std::unique_ptr<float[]> owned_;
  float* data_ = nullptr;
};

// The chunk's cols: x itself for one pointwise sample, else im2col of each sample into its
// columns of `col`.
const float* chunk_cols(const float* x, float* col, int64_t n0, int64_t count,
                        const ConvGeometry& g, const Lowering& lowering) {
  const int64_t image = g.channels * g.height * g.width, P = g.col_cols();
  if (count == 1 && g.is_pointwise()) return x + n0 * image;
  for (int64_t s = 0; s < count; ++s) {
    lowering.im2col(x + (n0 + s) * image, col + s * P, count * P);
  }
  return col;
}

}  // namespace

void conv2d_forward(const float* x, const float* w, float* y, float* saved, int64_t batch,
                    int64_t out_channels, const ConvGeometry& g, const Epilogue& e) {
  const int64_t K = g.col_rows(), P = g.col_cols(), M = out_channels;
  check_fits({K, P, M});
  const int threads = threads_for(batch);
  const SgemmFn gemm = sgemm_for_team(threads);
  const Lowering lowering(g);
  parallel_ranges(batch, threads, [&](int, int64_t lo, int64_t hi) {
    const int64_t S = chunk_samples(g, hi - lo);
    check_fits({S * P});
    const bool direct = S == 1 && g.is_pointwise();  // the GEMM reads x itself
    const ScratchFloats col(Scratch::col, lo == hi || direct ? 0 : size_t(K * S * P));
    const ScratchFloats out(Scratch::chunk, S > 1 ? size_t(M * S * P) : 0);
    for (int64_t n0 = lo; n0 < hi; n0 += S) {
      const int64_t count = std::min(S, hi - n0), cols = count * P;
      const float* c = chunk_cols(x, col.data(), n0, count, g, lowering);
      // One sample's output is already in place; a chunk's is gathered back.
      float* dst = count == 1 ? y + n0 * M * P : out.data();
      gemm(false, false, M, cols, K, 1.f, w, K, c, cols, 0.f, dst, cols);
      if (count > 1) chunk_to_nchw(out.data(), y, n0, count, M, P);
    }
  });
  epilogue_forward(y, saved, ChannelShape{batch, M, P}, e);
}

void conv2d_backward(const float* x, const float* w, const float* dy, const float* saved,
                     float* dz, float* dx, float* dw, float* dbias, int64_t batch,
                     int64_t out_channels, const ConvGeometry& g, Act act, float slope) {
  const int64_t K = g.col_rows(), P = g.col_cols(), M = out_channels;
  const int64_t image = g.channels * g.height * g.width;
  check_fits({K, P, M});
  const float* gz = epilogue_backward(dy, saved, dz, dbias, ChannelShape{batch, M, P}, act,
                                      slope);
  const int threads = threads_for(batch);
  const SgemmFn gemm = sgemm_for_team(threads);
  const size_t wsize = size_t(M * K);
  // Thread 0 accumulates straight into dw, the others into their own partial sums.
  std::vector<float> partials(dw && threads > 1 ? wsize * size_t(threads - 1) : 0);
  const Lowering lowering(g);
  parallel_ranges(batch, threads, [&](int t, int64_t lo, int64_t hi) {
    float* my_dw = dw ? (t == 0 ? dw : partials.data() + wsize * size_t(t - 1)) : nullptr;
    if (my_dw && lo == hi) std::memset(my_dw, 0, sizeof(float) * wsize);
    const int64_t S = chunk_samples(g, hi - lo);
    check_fits({S * P});
    const bool direct = S == 1 && g.is_pointwise();  // cols and dx are x's own layout
    const ScratchFloats col(Scratch::col, lo == hi || direct ? 0 : size_t(K * S * P));
    const ScratchFloats grads(Scratch::chunk, S > 1 ? size_t(M * S * P) : 0);
    const ScratchFloats dcol(Scratch::dcol, dx && !direct && lo < hi ? size_t(K * S * P) : 0);
    for (int64_t n0 = lo; n0 < hi; n0 += S) {
      const int64_t count = std::min(S, hi - n0), cols = count * P;
      const float* gn = gz + n0 * M * P;
      if (count > 1) {
        nchw_to_chunk(gz, grads.data(), n0, count, M, P);
        gn = grads.data();
      }
      if (my_dw) {
        const float* c = chunk_cols(x, col.data(), n0, count, g, lowering);
        gemm(false, true, M, K, cols, 1.f, gn, cols, c, cols, n0 == lo ? 0.f : 1.f, my_dw, K);
      }
      if (dx) {
        if (direct) {
          gemm(true, false, K, P, M, 1.f, w, K, gn, P, 0.f, dx + n0 * image, P);
        } else {
          gemm(true, false, K, cols, M, 1.f, w, K, gn, cols, 0.f, dcol.data(), cols);
          for (int64_t s = 0; s < count; ++s) {
            lowering.col2im(dcol.data() + s * P, dx + (n0 + s) * image, cols);
          }
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

void conv2d_pool_forward(const float* x, const float* w, float* z, float* y, int32_t* argmax,
                         float* saved, int64_t batch, int64_t out_channels,
                         const ConvGeometry& g, const Epilogue& e) {
  conv2d_forward(x, w, z, nullptr, batch, out_channels, g, Epilogue{nullptr, Act::kIdentity, 0});
  pool_kernels().conv_pool_forward(ConvPoolForwardArgs{z, e.bias, batch * out_channels,
                                                       out_channels, g.out_h, g.out_w, e.act,
                                                       e.slope, y, argmax, saved});
}

void conv2d_pool_backward(const float* x, const float* w, const float* dy,
                          const int32_t* argmax, const float* saved, float* dz, float* dx,
                          float* dw, float* dbias, int64_t batch, int64_t out_channels,
                          const ConvGeometry& g, Act act, float slope) {
  pool_kernels().conv_pool_backward(ConvPoolBackwardArgs{dy, argmax, saved, batch * out_channels,
                                                         out_channels, g.out_h, g.out_w, act,
                                                         slope, dz, dbias});
  conv2d_backward(x, w, dz, nullptr, dz, dx, dw, nullptr, batch, out_channels, g,
                  Act::kIdentity, 0.f);
}

}  // namespace fusednn::cpu
