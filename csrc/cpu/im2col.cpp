#include "cpu/im2col.h"

#include <cstring>

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

}  // namespace

// Serial: the conv layers run one sample per thread (layers.cpp). Each col row is one
// (channel, kernel row, kernel column); within it, each output row is a strided (for stride
// 1: contiguous) run of one input row between two stretches of padding.
void im2col(const float* image, float* col, const ConvGeometry& g) {
  const int64_t rows = g.col_rows(), cols = g.col_cols();
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t kw = row % g.kernel_w, kh = row / g.kernel_w % g.kernel_h;
    const int64_t c = row / (g.kernel_w * g.kernel_h);
    const float* plane = image + c * g.height * g.width;
    float* out = col + row * cols;
    const int64_t shift = kw * g.dilation_w - g.pad_w;
    int64_t lo, hi;
    valid_columns(shift, g, lo, hi);
    for (int64_t oh = 0; oh < g.out_h; ++oh) {
      const int64_t ih = oh * g.stride_h - g.pad_h + kh * g.dilation_h;
      float* line = out + oh * g.out_w;
      if (ih < 0 || ih >= g.height) {
        std::memset(line, 0, sizeof(float) * size_t(g.out_w));
        continue;
      }
      const float* src = plane + ih * g.width;
      std::memset(line, 0, sizeof(float) * size_t(lo));
      if (g.stride_w == 1) {
        if (hi > lo) std::memcpy(line + lo, src + lo + shift, sizeof(float) * size_t(hi - lo));
      } else {
        for (int64_t ow = lo; ow < hi; ++ow) line[ow] = src[ow * g.stride_w + shift];
      }
      std::memset(line + hi, 0, sizeof(float) * size_t(g.out_w - hi));
    }
  }
}

void col2im(const float* col, float* image, const ConvGeometry& g) {
  const int64_t cols = g.col_cols(), kk = g.kernel_h * g.kernel_w;
  std::memset(image, 0, sizeof(float) * size_t(g.channels * g.height * g.width));
  for (int64_t c = 0; c < g.channels; ++c) {
    float* plane = image + c * g.height * g.width;
    for (int64_t k = 0; k < kk; ++k) {
      const int64_t kh = k / g.kernel_w, kw = k % g.kernel_w;
      const float* in = col + (c * kk + k) * cols;
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

}  // namespace fusednn::cpu
