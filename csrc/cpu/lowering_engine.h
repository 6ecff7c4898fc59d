// ============================================================================================
// im2col / col2im (nn_kernels.h LoweringArgs), written once against a Vec policy (ScalarVec:
// vec_scalar_policy.h, Avx2Vec: vec_avx2.h). Two formulations of the same data movement:
//
//   rows:   each col row is one (channel, kernel row, kernel column); within it each output
//           row is a strided (for stride 1: contiguous) run of one input row between two
//           stretches of padding, moved in vectors with one masked tail.
//   tables: every element through an index table (im2col.cpp's Lowering builds it), the
//           vectors gathered; no per-row setup, which is what output rows a few elements
//           wide need.
//
// col2im sums each pixel's taps in tap order in both, starting from +0, so the two (and the
// scalar and AVX2 paths) agree bit for bit: a tap that does not touch a pixel adds nothing,
// and the sum is never -0 (x + y is -0 only when both are).
//
// Also the gathers between a batched conv GEMM's chunk and NCHW (move_chunk).
//
// Serial: the conv layers run each thread's samples on that thread (layers.cpp). Included by
// nn_engine.h; internal linkage throughout.
// ============================================================================================
#pragma once
#include <cstdint>
#include <cstring>

#include "cpu/nn_kernels.h"
#include "cpu/vec_loops.h"
#include "fusednn/geometry.h"

namespace fusednn::cpu {
namespace {

// The output columns [lo, hi) of one kernel column whose input column ow*stride + shift lies
// inside [0, width): the rest read padding.
inline void valid_columns(int64_t shift, const ConvGeometry& g, int64_t& lo, int64_t& hi) {
  // ow*stride + shift >= 0  and  ow*stride + shift < width
  lo = shift >= 0 ? 0 : (-shift + g.stride_w - 1) / g.stride_w;
  const int64_t last = g.width - 1 - shift;  // largest ow*stride allowed
  hi = last < 0 ? 0 : last / g.stride_w + 1;
  if (hi > g.out_w) hi = g.out_w;
  if (lo > hi) lo = hi;
}

template <class Vec>
FUSEDNN_INLINE void copy_run(float* dst, const float* src, int64_t n) {
  for_each_vector<Vec>(n, [&](int64_t i, int lanes) {
    store_n<Vec>(dst + i, load_n<Vec>(src + i, lanes), lanes);
  });
}
template <class Vec>
FUSEDNN_INLINE void zero_run(float* dst, int64_t n) {
  using V = typename Vec::V;
  for_each_vector<Vec>(n, [&](int64_t i, int lanes) { store_n<Vec>(dst + i, V(0.f), lanes); });
}
template <class Vec>
FUSEDNN_INLINE void add_run(float* dst, const float* src, int64_t n) {
  for_each_vector<Vec>(n, [&](int64_t i, int lanes) {
    store_n<Vec>(dst + i, load_n<Vec>(dst + i, lanes) + load_n<Vec>(src + i, lanes), lanes);
  });
}

template <class Vec>
void im2col_rows(const LoweringArgs& a) {
  const ConvGeometry& g = *a.geometry;
  const int64_t rows = g.col_rows();
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t kw = row % g.kernel_w, kh = row / g.kernel_w % g.kernel_h;
    const float* plane = a.in + row / (g.kernel_w * g.kernel_h) * g.height * g.width;
    float* out = a.out + row * a.ld;
    const int64_t shift = kw * g.dilation_w - g.pad_w;
    int64_t lo, hi;
    valid_columns(shift, g, lo, hi);
    for (int64_t oh = 0; oh < g.out_h; ++oh) {
      const int64_t ih = oh * g.stride_h - g.pad_h + kh * g.dilation_h;
      float* line = out + oh * g.out_w;
      if (ih < 0 || ih >= g.height) {
        zero_run<Vec>(line, g.out_w);
        continue;
      }
      const float* src = plane + ih * g.width;
      zero_run<Vec>(line, lo);
      if (g.stride_w == 1) {
        copy_run<Vec>(line + lo, src + lo + shift, hi - lo);
      } else {
        for (int64_t ow = lo; ow < hi; ++ow) line[ow] = src[ow * g.stride_w + shift];
      }
      zero_run<Vec>(line + hi, g.out_w - hi);
    }
  }
}

template <class Vec>
void col2im_rows(const LoweringArgs& a) {
  const ConvGeometry& g = *a.geometry;
  const int64_t taps = g.kernel_h * g.kernel_w;
  std::memset(a.out, 0, sizeof(float) * size_t(g.channels * g.height * g.width));
  for (int64_t c = 0; c < g.channels; ++c) {
    float* plane = a.out + c * g.height * g.width;
    for (int64_t k = 0; k < taps; ++k) {
      const int64_t kh = k / g.kernel_w, kw = k % g.kernel_w;
      const float* in = a.in + (c * taps + k) * a.ld;
      const int64_t shift = kw * g.dilation_w - g.pad_w;
      int64_t lo, hi;
      valid_columns(shift, g, lo, hi);
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        const int64_t ih = oh * g.stride_h - g.pad_h + kh * g.dilation_h;
        if (ih < 0 || ih >= g.height) continue;
        float* dst = plane + ih * g.width;
        const float* line = in + oh * g.out_w;
        if (g.stride_w == 1) {
          add_run<Vec>(dst + lo + shift, line + lo, hi - lo);
        } else {
          for (int64_t ow = lo; ow < hi; ++ow) dst[ow * g.stride_w + shift] += line[ow];
        }
      }
    }
  }
}

template <class Vec>
void im2col_table(const LoweringArgs& a) {
  const ConvGeometry& g = *a.geometry;
  const int64_t taps = g.kernel_h * g.kernel_w, cols = g.col_cols();
  for (int64_t c = 0; c < g.channels; ++c) {
    const float* plane = a.in + c * g.height * g.width;
    for (int64_t k = 0; k < taps; ++k) {
      float* row = a.out + (c * taps + k) * a.ld;
      const int32_t* index = a.table + k * cols;
      for_each_vector<Vec>(cols, [&](int64_t j, int lanes) {
        store_n<Vec>(row + j, Vec::gather(plane, index + j, lanes), lanes);
      });
    }
  }
}

template <class Vec>
void col2im_table(const LoweringArgs& a) {
  using V = typename Vec::V;
  const ConvGeometry& g = *a.geometry;
  const int64_t taps = g.kernel_h * g.kernel_w, pixels = g.height * g.width;
  for (int64_t c = 0; c < g.channels; ++c) {
    const float* rows = a.in + c * taps * a.ld;
    float* plane = a.out + c * pixels;
    for_each_vector<Vec>(pixels, [&](int64_t p, int lanes) {
      V sum(0.f);
      for (int64_t k = 0; k < taps; ++k) {
        sum = sum + Vec::gather(rows + k * a.ld, a.table + k * pixels + p, lanes);
      }
      store_n<Vec>(plane + p, sum, lanes);
    });
  }
}

// The chunk gathers of a batched conv GEMM (nn_kernels.h ChunkArgs), one plane at a time.
template <class Vec, bool kToChunk>
void move_chunk(const ChunkArgs& a) {
  for (int64_t s = 0; s < a.count; ++s) {
    for (int64_t m = 0; m < a.channels; ++m) {
      const int64_t nchw_at = ((a.n0 + s) * a.channels + m) * a.plane;
      const int64_t chunk_at = (m * a.count + s) * a.plane;
      copy_run<Vec>(a.out + (kToChunk ? chunk_at : nchw_at),
                    a.in + (kToChunk ? nchw_at : chunk_at), a.plane);
    }
  }
}

template <class Vec>
void im2col(const LoweringArgs& a) {
  if (a.table) im2col_table<Vec>(a);
  else im2col_rows<Vec>(a);
}

template <class Vec>
void col2im(const LoweringArgs& a) {
  if (a.table) col2im_table<Vec>(a);
  else col2im_rows<Vec>(a);
}

}  // namespace
}  // namespace fusednn::cpu
