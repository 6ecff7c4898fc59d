#include "cpu/im2col.h"

#include <cstdint>
#include <cstring>

#include "cpu/dispatch.h"

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

// dst[0, n) = src[0, n) and dst[0, n) = 0 for the short runs of a conv over small planes
// (out_w is 11, 5 or 3 in the tutorial CNN) and of the chunk gathers below: plain loops, which
// GCC would otherwise turn back into memcpy/memset calls costing more than the copy. Their
// callers carry the same attribute, so that they inline.
#if defined(__GNUC__) && !defined(__clang__)
#define FUSEDNN_PLAIN_LOOPS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define FUSEDNN_PLAIN_LOOPS
#endif

FUSEDNN_PLAIN_LOOPS inline void copy_run(float* dst, const float* src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
}
FUSEDNN_PLAIN_LOOPS inline void zero_run(float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = 0.f;
}

}  // namespace

// Serial: the conv layers run each thread's samples on that thread (layers.cpp). Each col
// row is one (channel, kernel row, kernel column); within it, each output row is a strided
// (for stride 1: contiguous) run of one input row between two stretches of padding.
FUSEDNN_PLAIN_LOOPS void im2col(const float* image, float* col, const ConvGeometry& g,
                                int64_t ld) {
  const int64_t rows = g.col_rows();
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t kw = row % g.kernel_w, kh = row / g.kernel_w % g.kernel_h;
    const int64_t c = row / (g.kernel_w * g.kernel_h);
    const float* plane = image + c * g.height * g.width;
    float* out = col + row * ld;
    const int64_t shift = kw * g.dilation_w - g.pad_w;
    int64_t lo, hi;
    valid_columns(shift, g, lo, hi);
    for (int64_t oh = 0; oh < g.out_h; ++oh) {
      const int64_t ih = oh * g.stride_h - g.pad_h + kh * g.dilation_h;
      float* line = out + oh * g.out_w;
      if (ih < 0 || ih >= g.height) {
        zero_run(line, g.out_w);
        continue;
      }
      const float* src = plane + ih * g.width;
      zero_run(line, lo);
      if (g.stride_w == 1) {
        copy_run(line + lo, src + lo + shift, hi - lo);
      } else {
        for (int64_t ow = lo; ow < hi; ++ow) line[ow] = src[ow * g.stride_w + shift];
      }
      zero_run(line + hi, g.out_w - hi);
    }
  }
}

FUSEDNN_PLAIN_LOOPS void col2im(const float* col, float* image, const ConvGeometry& g,
                                int64_t ld) {
  const int64_t kk = g.kernel_h * g.kernel_w;
  std::memset(image, 0, sizeof(float) * size_t(g.channels * g.height * g.width));
  for (int64_t c = 0; c < g.channels; ++c) {
    float* plane = image + c * g.height * g.width;
    for (int64_t k = 0; k < kk; ++k) {
      const int64_t kh = k / g.kernel_w, kw = k % g.kernel_w;
      const float* in = col + (c * kk + k) * ld;
      const int64_t shift = kw * g.dilation_w - g.pad_w;
      int64_t lo, hi;
      valid_columns(shift, g, lo, hi);
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        const int64_t ih = oh * g.stride_h - g.pad_h + kh * g.dilation_h;
        if (ih < 0 || ih >= g.height) continue;
        float* dst = plane + ih * g.width;
        const float* line = in + oh * g.out_w;
        if (g.stride_w == 1) {
          for (int64_t ow = lo; ow < hi; ++ow) dst[ow + shift] += line[ow];
        } else {
          for (int64_t ow = lo; ow < hi; ++ow) dst[ow * g.stride_w + shift] += line[ow];
        }
      }
    }
  }
}

Lowering::Lowering(const ConvGeometry& g)
    : g_(g),
      by_table_(g.out_w < kTableBelowWidth && g.height * g.width <= INT32_MAX &&
                g.col_cols() <= INT32_MAX) {
  if (!by_table_) return;
  const int64_t taps = g.kernel_h * g.kernel_w, cols = g.col_cols(), plane = g.height * g.width;
  tap_sources_.assign(size_t(taps * cols), -1);
  pixel_cols_.assign(size_t(taps * plane), -1);
  for (int64_t k = 0; k < taps; ++k) {
    const int64_t kh = k / g.kernel_w, kw = k % g.kernel_w;
    for (int64_t oh = 0; oh < g.out_h; ++oh) {
      const int64_t ih = oh * g.stride_h - g.pad_h + kh * g.dilation_h;
      if (ih < 0 || ih >= g.height) continue;
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        const int64_t iw = ow * g.stride_w - g.pad_w + kw * g.dilation_w;
        if (iw < 0 || iw >= g.width) continue;
        tap_sources_[size_t(k * cols + oh * g.out_w + ow)] = int32_t(ih * g.width + iw);
        pixel_cols_[size_t(k * plane + ih * g.width + iw)] = int32_t(oh * g.out_w + ow);
      }
    }
  }
}

void Lowering::im2col(const float* image, float* col, int64_t ld) const {
  if (!by_table_) return cpu::im2col(image, col, g_, ld);
  nn_kernels().im2col_table(LoweringArgs{g_.channels, g_.kernel_h * g_.kernel_w,
                                         g_.height * g_.width, g_.col_cols(), ld,
                                         tap_sources_.data(), image, col});
}

void Lowering::col2im(const float* col, float* image, int64_t ld) const {
  if (!by_table_) return cpu::col2im(col, image, g_, ld);
  nn_kernels().col2im_table(LoweringArgs{g_.channels, g_.kernel_h * g_.kernel_w,
                                         g_.height * g_.width, g_.col_cols(), ld,
                                         pixel_cols_.data(), col, image});
}

FUSEDNN_PLAIN_LOOPS void nchw_to_chunk(const float* nchw, float* chunk, int64_t n0,
                                       int64_t count, int64_t M, int64_t P) {
  for (int64_t s = 0; s < count; ++s) {
    for (int64_t m = 0; m < M; ++m) {
      copy_run(chunk + (m * count + s) * P, nchw + ((n0 + s) * M + m) * P, P);
    }
  }
}

FUSEDNN_PLAIN_LOOPS void chunk_to_nchw(const float* chunk, float* nchw, int64_t n0,
                                       int64_t count, int64_t M, int64_t P) {
  for (int64_t s = 0; s < count; ++s) {
    for (int64_t m = 0; m < M; ++m) {
      copy_run(nchw + ((n0 + s) * M + m) * P, chunk + (m * count + s) * P, P);
    }
  }
}

}  // namespace fusednn::cpu
