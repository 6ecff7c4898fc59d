// ============================================================================================
// The GPU layer kernels that use no shared memory and no barriers — the conv lowering (im2col,
// col2im) and each thread's share of the per-channel sum — apart from their launches (nn.cu),
// so that a host check (tests/cuda/kernels_on_host_check.cpp) can run them thread by thread
// without a GPU: threads run one after another compute exactly what the GPU does.
// ============================================================================================
#pragma once
#include <cstdint>

#include "cuda/common.cuh"
#include "fusednn/geometry.h"

namespace fusednn::cuda::layer {

constexpr int kLoweringThreads = 256;

// Thread `tid` of `threads`' share of channel c's sum over outer and inner of g[o, c, i]: the
// flat indices tid, tid + threads, ..., each (o, i) pair stepped by a fixed stride instead of
// dividing per element.
__device__ __forceinline__ float channel_share(const float* __restrict__ g, int64_t outer,
                                               int64_t channels, int64_t inner, int64_t c,
                                               unsigned tid, unsigned threads) {
  const float* base = g + c * inner;
  const int64_t per = outer * inner, row = channels * inner;
  const int64_t step_o = threads / inner, step_i = threads % inner;
  int64_t o = tid / inner, i = tid % inner;
  float acc = 0.f;
  for (int64_t k = tid; k < per; k += threads) {
    acc += base[o * row + i];
    i += step_i;
    o += step_o;
    if (i >= inner) {
      i -= inner;
      ++o;
    }
  }
  return acc;
}

// im2col and col2im work row by row: a block's threadIdx.y picks a (sample, col row) or a
// (sample, channel) plane, whose channel and kernel tap are found once, and threadIdx.x walks
// its elements with 32-bit index math (nn.cu refuses geometries that do not fit). Narrow rows share
// a block so that few of its 256 threads idle.
struct RowBlocks {
  dim3 block;
  unsigned grid;
};
inline RowBlocks row_blocks(int64_t rows, int64_t row_length) {
  unsigned along = 8;
  while (along < row_length && along < unsigned(kLoweringThreads)) along <<= 1;
  const unsigned per_block = unsigned(kLoweringThreads) / along;
  return {dim3(along, per_block), blocks_for(rows, per_block, int64_t(1) << 20)};
}

#define FUSEDNN_ROW_STRIDE(r, n) \
  for (int64_t r = int64_t(blockIdx.x) * blockDim.y + threadIdx.y; r < (n); r += int64_t(gridDim.x) * blockDim.y)

// col[n][row][p] for rows_total = samples * col_rows rows.
__global__ void im2col_kernel(const float* __restrict__ x, float* __restrict__ col,
                              int64_t rows_total, ConvGeometry g) {
  const int64_t K = g.col_rows();
  const int P = int(g.col_cols()), H = int(g.height), W = int(g.width), out_w = int(g.out_w);
  const int sh = int(g.stride_h), sw = int(g.stride_w);
  FUSEDNN_ROW_STRIDE(r, rows_total) {
    const int64_t n = r / K, row = r % K;
    const int kw = int(row % g.kernel_w), kh = int(row / g.kernel_w % g.kernel_h);
    const int64_t c = row / (g.kernel_w * g.kernel_h);
    const float* plane = x + (n * g.channels + c) * int64_t(H) * W;
    float* out = col + r * P;
    const int h0 = kh * int(g.dilation_h) - int(g.pad_h), w0 = kw * int(g.dilation_w) - int(g.pad_w);
    for (int p = threadIdx.x; p < P; p += blockDim.x) {
      const int oh = p / out_w, ow = p - oh * out_w;
      const int ih = oh * sh + h0, iw = ow * sw + w0;
      out[p] = (unsigned(ih) < unsigned(H) && unsigned(iw) < unsigned(W)) ? plane[ih * W + iw] : 0.f;
    }
  }
}

// x[n][c] for planes_total = samples * channels planes: each pixel gathers every col entry it
// fed, in kernel-tap order (no atomics, the same sum on every run).
__global__ void col2im_kernel(const float* __restrict__ col, float* __restrict__ x,
                              int64_t planes_total, ConvGeometry g) {
  const int64_t K = g.col_rows();
  const int P = int(g.col_cols()), H = int(g.height), W = int(g.width);
  const int out_h = int(g.out_h), out_w = int(g.out_w), taps_h = int(g.kernel_h),
            taps_w = int(g.kernel_w);
  const int sh = int(g.stride_h), sw = int(g.stride_w), dh = int(g.dilation_h),
            dw = int(g.dilation_w), ph = int(g.pad_h), pw = int(g.pad_w);
  FUSEDNN_ROW_STRIDE(r, planes_total) {
    const int64_t n = r / g.channels, c = r % g.channels;
    const float* taps = col + (n * K + c * taps_h * taps_w) * P;  // the plane's first col row
    float* out = x + r * int64_t(H) * W;
    for (int pixel = threadIdx.x; pixel < H * W; pixel += blockDim.x) {
      const int ih = pixel / W, iw = pixel - ih * W;
      float acc = 0.f;
      for (int kh = 0; kh < taps_h; ++kh) {
        const int th = ih + ph - kh * dh;
        if (th < 0 || th % sh) continue;
        const int oh = th / sh;
        if (oh >= out_h) continue;
        for (int kw = 0; kw < taps_w; ++kw) {
          const int tw = iw + pw - kw * dw;
          if (tw < 0 || tw % sw) continue;
          const int ow = tw / sw;
          if (ow >= out_w) continue;
          acc += taps[int64_t(kh * taps_w + kw) * P + oh * out_w + ow];
        }
      }
      out[pixel] = acc;
    }
  }
}

}  // namespace fusednn::cuda::layer
